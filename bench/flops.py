"""On paper: FLOPs of one 2×2 grid per model family, its floors on an H100 and an H200, and bf16 weight memory.

Counts come from ``bench.flop_count`` (the published architectures on the meta device, no weights). A "pass" is one
denoiser forward for one image (batch 1); a step with classifier-free guidance is two passes per image. Floors and
estimates are arithmetic on those counts and the cards' datasheet peaks; the estimates' utilisation is an assumption,
given on the command line and printed with the table. Run: ``python -m bench.flops [--write docs/performance.md]``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from bench import report
from bench.flop_count import LONG_TOKENS, Family, Part, families

IMAGES = 4  # a grid


@dataclass(frozen=True)
class Gpu:
    name: str
    bf16_flops: float  # dense tensor-core peak, FLOP/s
    bandwidth: float  # HBM, bytes/s


# NVIDIA's datasheets list bf16 tensor throughput "with sparsity" (1,979 TFLOPS for both cards); dense is half. The
# H200 is the H100's GH100 die with HBM3e: same compute, 141 GB at 4.8 TB/s against the H100 SXM's 80 GB at
# 3.35 TB/s. Read through glennklockwood.com/garden/processors/h100 (BF16 matrix 989.4 dense, 1978.9 sparse),
# itkb.uw.cz "NVIDIA H200 vs B300" (H200 SXM dense BF16 ~989 TFLOPS, 4.8 TB/s) and codesota.com/hardware/h100
# (H100 SXM dense 989 TFLOPS, 3,350 GB/s, from the datasheet). The PCIe H100 is slower (756 TFLOPS, 2 TB/s).
GPUS = (Gpu("H100 SXM", 989e12, 3.35e12), Gpu("H200 SXM", 989e12, 4.8e12))
CARDS_GB = (24, 48, 80, 141)  # common card sizes: 24 GB consumer, 48 GB workstation, H100, H200


def call_seconds(flops: float, weights: Part, gpu: Gpu, use: float) -> float:
    """One batched call: its FLOPs at ``use`` of peak, or reading its bf16 weights once at full bandwidth, whichever
    is slower (a roofline that ignores activation traffic)."""
    return max(flops / (gpu.bf16_flops * use), weights.bf16_bytes / gpu.bandwidth)


@dataclass(frozen=True)
class Run:
    """A family at a step count; with CFG each step is two passes per image and the negative prompt is encoded."""

    family: Family
    steps: int
    cfg: bool

    @property
    def passes(self) -> int:
        return 2 if self.cfg else 1

    def calls(self) -> list[tuple[str, int, float, Part]]:
        """The batched calls of one grid: (phase, how many, FLOPs of one, weights each reads). A step batches its
        images (and CFG's two passes); each prompt is encoded by its own call; the four decodes share one."""
        f = self.family
        return [
            ("denoising", self.steps, self.passes * IMAGES * f.denoiser.flops, f.denoiser),
            ("text encoding", self.passes, f.text.flops, f.text),
            ("decoding", 1, IMAGES * f.vae.flops, f.vae),
        ]

    def flops(self) -> float:
        """FLOPs of one grid."""
        return sum(count * flops for _, count, flops, _ in self.calls())

    def seconds(self, gpu: Gpu, denoiser_use: float, other_use: float) -> float:
        """Sum of ``call_seconds`` over the grid's calls, the denoiser at ``denoiser_use`` of peak, the rest at
        ``other_use``."""
        return sum(
            count * call_seconds(flops, weights, gpu, denoiser_use if phase == "denoising" else other_use)
            for phase, count, flops, weights in self.calls()
        )

    def bound_by_weights(self, gpu: Gpu) -> list[str]:
        """The phases whose weight reads at full bandwidth take longer than their FLOPs at peak."""
        return [
            phase
            for phase, _, flops, weights in self.calls()
            if weights.bf16_bytes / gpu.bandwidth > flops / gpu.bf16_flops
        ]


def runs(counted: list[Family]) -> list[Run]:
    """Step counts: SD1.5 / SDXL at the engine's 20 and at 30; the others as models/tiny_families documents them
    (SD3.5 model cards: Medium 40, Large 28; schnell 4; dev 28 as commonly served and 50 as its model card and the
    diffusers docs sample; klein 4B distilled 4; Z-Image-Turbo 8 at guidance 0, so no CFG)."""
    by = {f.name: f for f in counted}
    plan = [
        ("SD1.5", (20, 30), True),
        ("SDXL", (20, 30), True),
        ("SD3.5 Medium", (40,), True),
        ("SD3.5 Large", (28,), True),
        ("FLUX.1 schnell", (4,), False),
        ("FLUX.1 dev", (28, 50), False),
        ("FLUX.2 klein 4B", (4,), False),
        ("Z-Image-Turbo", (8,), False),
    ]
    return [Run(by[name], steps, cfg) for name, step_counts, cfg in plan for steps in step_counts]


def _tflop(flops: float) -> str:
    return f"{flops / 1e12:.3f} TFLOP" if flops < 100e12 else f"{flops / 1e12:.0f} TFLOP"


def _gb(nbytes: float) -> str:
    return f"{nbytes / 1e9:.2f} GB"


def _card(nbytes: float) -> str:
    """The smallest listed card whose memory exceeds the weights alone, and what the weights leave of it."""
    fits = [gb for gb in CARDS_GB if nbytes < gb * 1e9]
    return f"{fits[0]} GB ({fits[0] - nbytes / 1e9:.1f} GB left)" if fits else "none listed"


def flops_table(counted: list[Family]) -> list[str]:
    lines = [
        "| family, size | denoiser per pass | text encoders (tokens) | text per prompt | VAE decode per image |",
        "|---|---|---|---|---|",
    ]
    for f in counted:
        names = " + ".join(name for name, _ in f.texts)
        lines.append(
            f"| {f.name}, {f.side}² | {_tflop(f.denoiser.flops)} | {names} | {f.text.flops / 1e9:.0f} GFLOP "
            f"| {_tflop(f.vae.flops)} |"
        )
    return lines


def grid_table(planned: list[Run], denoiser_use: float, other_use: float) -> list[str]:
    h100, h200 = GPUS
    assumed = f"assumed {denoiser_use:.0%} / {other_use:.0%} of peak"
    lines = [
        f"| family, steps | passes per step per image | grid | floor {h100.name} | floor {h200.name} "
        f"| estimate {h100.name} ({assumed}) | estimate {h200.name} ({assumed}) |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in planned:
        floors = [run.seconds(gpu, 1.0, 1.0) for gpu in GPUS]
        estimates = [run.seconds(gpu, denoiser_use, other_use) for gpu in GPUS]
        passes = f"{run.passes} (CFG)" if run.cfg else f"{run.passes}"
        lines.append(
            f"| {run.family.name}, {run.steps} | {passes} | {_tflop(run.flops())} | {floors[0]:.2f} s "
            f"| {floors[1]:.2f} s | ≈ {estimates[0]:.2f} s | ≈ {estimates[1]:.2f} s |"
        )
    return lines


def bandwidth_note(planned: list[Run]) -> str:
    """What the H200's bandwidth changes: which phases weight reads bind, and the largest floor it lowers."""
    h100, h200 = GPUS
    bound: dict[str, list[str]] = {}
    for run in planned:
        for phase in run.bound_by_weights(h100):
            bound.setdefault(phase, []).append(run.family.name)
    names = [f"{phase} ({', '.join(dict.fromkeys(families))})" for phase, families in bound.items()]
    gain, run = max(((r.seconds(h100, 1.0, 1.0) - r.seconds(h200, 1.0, 1.0), r) for r in planned), key=lambda g: g[0])
    closest = max(planned, key=lambda r: r.family.denoiser.bf16_bytes / (r.passes * r.family.denoiser.flops))
    read = closest.family.denoiser.bf16_bytes / h100.bandwidth
    compute = closest.passes * IMAGES * closest.family.denoiser.flops / h100.bf16_flops
    return (
        f"Bound by weight reads on the {h100.name}: {'; '.join(names) if names else 'nothing'}. The H200's extra "
        f"bandwidth therefore lowers a floor by at most {gain * 1e3:.1f} ms ({run.family.name}, {run.steps} steps). "
        f"Closest denoising step: {closest.family.name} reads {_gb(closest.family.denoiser.bf16_bytes)} of weights in "
        f"{read * 1e3:.1f} ms against {compute * 1e3:.0f} ms of FLOPs at peak for its {closest.passes * IMAGES} images."
    )


def memory_table(counted: list[Family]) -> list[str]:
    cards = " / ".join(str(gb) for gb in CARDS_GB)
    lines = [
        "| family | denoiser (parameters + buffers) | text encoders | VAE | all "
        f"| smallest card of {cards} GB, all weights | same, denoiser + VAE (text encoders offloaded after encoding) |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in counted:
        total = f.denoiser.bf16_bytes + f.text.bf16_bytes + f.vae.bf16_bytes
        resident = f.denoiser.bf16_bytes + f.vae.bf16_bytes
        lines.append(
            f"| {f.name} | {_gb(f.denoiser.bf16_bytes)} ({f.denoiser.params / 1e9:.2f} B) | {_gb(f.text.bf16_bytes)} "
            f"| {_gb(f.vae.bf16_bytes)} | {_gb(total)} | {_card(total)} | {_card(resident)} |"
        )
    return lines


def render(counted: list[Family], planned: list[Run], denoiser_use: float, other_use: float) -> str:
    """The section body: FLOPs per part, per grid with floors and estimates, and bf16 weight memory."""
    h100, h200 = GPUS
    return "\n".join(
        [
            "FLOPs counted by `torch.utils.flop_counter` on the published architectures, built on the meta device "
            "(no weights). A pass is one denoiser forward for one image; text is one prompt through every encoder, "
            "padded to the token counts shown as the pipelines pad (Z-Image then drops the padding: its transformer "
            f"is counted at the {LONG_TOKENS}-token maximum).",
            "",
            *flops_table(counted),
            "",
            f"Grid = steps × passes × {IMAGES} × denoiser pass + passes × text + {IMAGES} × VAE decode (with CFG the "
            "negative prompt is encoded too). Floor: each batched call (a step, a prompt, the four decodes) at the "
            f"dense bf16 tensor-core peak ({h100.bf16_flops / 1e12:.0f} TFLOPS on both cards) or, if slower, reading "
            f"its bf16 weights once at HBM bandwidth ({h100.bandwidth / 1e12:.2f} TB/s {h100.name}, "
            f"{h200.bandwidth / 1e12:.1f} TB/s {h200.name}). Estimate: the same at an assumed {denoiser_use:.0%} of "
            f"peak for the denoiser and {other_use:.0%} for text encoders and VAE: assumptions, not measurements.",
            "",
            *grid_table(planned, denoiser_use, other_use),
            "",
            bandwidth_note(planned),
            "",
            "bf16 memory: parameters and stored buffers × 2 bytes (GB = 10⁹ bytes). Weights only: activations, the "
            "CUDA context and allocator slack come on top, so a card whose row leaves little is not enough. "
            "Cards are taken at their nominal size in 10⁹ bytes.",
            "",
            *memory_table(counted),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--denoiser-use", type=float, default=0.45, help="assumed share of peak while denoising")
    parser.add_argument("--other-use", type=float, default=0.30, help="assumed share of peak for text encoders and VAE")
    report.add_write_argument(parser)
    args = parser.parse_args()
    counted = families()
    body = render(counted, runs(counted), args.denoiser_use, args.other_use)
    report.emit(args, "flops", report.section("flops", "On paper: FLOPs per grid", body))


if __name__ == "__main__":
    main()
