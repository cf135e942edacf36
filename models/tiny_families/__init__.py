"""Tiny random-weight instances of the transformer / flow-matching families (SD3, FLUX.1, FLUX.2 klein, Z-Image).

Each module builds its family's real diffusers pipeline class from the real model classes at toy widths and depths,
with fixed-seed weights, so a saved folder loads through ``DiffusionPipeline.from_pretrained`` on any machine
without downloads. Each module also holds its family's published full-size configs (source named beside them) and
builds those architectures on the meta device, to check parameter counts without allocating memory.
"""
