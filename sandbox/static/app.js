// The sandbox page: draws the snapshots the emulator pushes over /api/ws, and turns what a person does into the
// interactions Discord would send (POST /api/send, /api/click, /api/select, /api/modal). Plain JS, no build step.
"use strict";

const $ = (id) => document.getElementById(id);
const view = { userId: localStorage.getItem("sandbox.user"), channelId: localStorage.getItem("sandbox.channel") };
let snapshot = null;
let socket = null;
const drawn = new Map(); // message id -> {sig, el}
const dismissed = new Set(); // ephemeral messages the person closed
const history = []; // what this person sent, for the arrow keys
let recalled = 0;
const STYLE = { 1: "primary", 2: "secondary", 3: "success", 4: "danger", 5: "link", 6: "premium" };
const PALETTE = ["#5865f2", "#3ba55c", "#faa61a", "#ed4245", "#eb459e", "#00a8fc", "#9b59b6", "#1abc9c"];

// ---- the live connection ----

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/api/ws`);
  socket.onopen = () => watch();
  socket.onmessage = (event) => render(JSON.parse(event.data));
  socket.onclose = () => {
    setStatus(false, "reconnecting…");
    setTimeout(connect, 1000);
  };
}

function watch() {
  if (socket && socket.readyState === WebSocket.OPEN) {
    socket.send(JSON.stringify({ user_id: view.userId, channel_id: view.channelId }));
  }
}

function choose(userId, channelId) {
  if (userId !== view.userId) {
    view.userId = userId;
    localStorage.setItem("sandbox.user", userId);
  }
  view.channelId = channelId;
  if (channelId) localStorage.setItem("sandbox.channel", channelId);
  for (const id of drawn.keys()) forget(id);
  watch();
}

// ---- drawing a snapshot ----

function render(snap) {
  snapshot = snap;
  const users = snap.users;
  if (!users.some((u) => u.id === view.userId) && users.length) return choose(users[0].id, view.channelId);
  const channels = snap.channels;
  if (channels.length && !channels.some((c) => c.id === view.channelId)) return choose(view.userId, channels[0].id);
  if (snap.channel_id !== view.channelId) return; // a snapshot from before the last switch
  drawUsers(users);
  drawChannels(channels);
  setStatus(snap.bot.online, snap.bot.online ? `${snap.bot.name} online` : `${snap.bot.name} offline`);
  const violations = $("violations");
  violations.classList.toggle("hidden", !snap.violations.length);
  violations.textContent = snap.violations.length ? `⚠ The bot broke Discord's rules: ${snap.violations.join(" · ")}` : "";
  drawMessages(snap.messages);
}

function drawUsers(users) {
  const select = $("user");
  const wanted = users.map((u) => u.id).join();
  if (select.dataset.ids !== wanted) {
    select.replaceChildren(...users.map((u) => new Option(u.name, u.id)));
    select.dataset.ids = wanted;
  }
  select.value = view.userId;
  const me = users.find((u) => u.id === view.userId);
  if (me) paintAvatar($("me-avatar"), me.name);
}

function drawChannels(channels) {
  const item = (c) => {
    const li = el("li", { class: c.id === view.channelId ? "channel active" : "channel" });
    li.append(el("span", { class: "hash" }, c.dm ? "@" : "#"), el("span", {}, c.name));
    li.onclick = () => choose(view.userId, c.id);
    return li;
  };
  $("channels").replaceChildren(...channels.filter((c) => !c.dm).map(item));
  $("dms").replaceChildren(...channels.filter((c) => c.dm).map(item));
  const current = channels.find((c) => c.id === view.channelId);
  if (current) {
    $("channel-icon").textContent = current.dm ? "@" : "#";
    $("channel-title").textContent = current.name;
    $("guild-name").textContent = channels.find((c) => c.guild)?.guild || "sandbox";
    $("input").placeholder = `Message ${current.dm ? "@" : "#"}${current.name} — try /imagine a lighthouse at dusk`;
  }
}

function setStatus(online, text) {
  const status = $("bot-status");
  status.classList.toggle("offline", !online);
  status.lastChild.textContent = text;
}

function drawMessages(messages) {
  const box = $("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 120;
  const visible = messages.filter((m) => !dismissed.has(m.id));
  const keep = new Set(visible.map((m) => m.id));
  for (const id of [...drawn.keys()]) if (!keep.has(id)) forget(id);
  const nodes = visible.map((m) => {
    const sig = JSON.stringify(m);
    const old = drawn.get(m.id);
    if (old && old.sig === sig) return old.el;
    const fresh = drawMessage(m);
    if (old) {
      keepHeight(old.el, fresh);
      old.el.replaceWith(fresh);
    }
    drawn.set(m.id, { sig, el: fresh });
    return fresh;
  });
  if (!nodes.length) nodes.push(welcome());
  const same = nodes.length === box.children.length && nodes.every((n, i) => box.children[i] === n);
  if (!same) box.replaceChildren(...nodes);
  if (atBottom) box.scrollTop = box.scrollHeight;
}

// An edit (a progress preview) brings new images; until they load, hold the old ones' height so nothing jumps.
function keepHeight(before, after) {
  const was = before.querySelector(".attachments");
  const now = after.querySelector(".attachments");
  if (!was || !now) return;
  now.style.minHeight = `${was.offsetHeight}px`;
  const loaded = (img) =>
    img.complete ? null : new Promise((done) => ["load", "error"].forEach((e) => img.addEventListener(e, done)));
  Promise.all([...now.querySelectorAll("img")].map(loaded)).then(() => {
    now.style.minHeight = "";
  });
}

function forget(id) {
  const old = drawn.get(id);
  if (old) old.el.remove();
  drawn.delete(id);
}

function welcome() {
  const box = el("div", { class: "welcome" });
  box.append(el("h2", {}, "Welcome to the sandbox 👋"));
  box.append(el("p", {}, "This page is a tiny Discord running on your machine. Type a slash command below, as on Discord:"));
  for (const example of ["/imagine a lighthouse at dusk, oil painting", "/imagine a cozy cabin in the snow --ar 3:2", "/settings", "/info"]) {
    const chip = el("button", { class: "example", type: "button" }, example);
    chip.onclick = () => {
      $("input").value = example;
      $("input").focus();
    };
    box.append(chip);
  }
  return box;
}

function drawMessage(m) {
  const mentionsMe = (m.content || "").includes(`<@${view.userId}>`);
  const classes = "message" + (m.ephemeral ? " ephemeral" : "") + (mentionsMe ? " mentions-me" : "");
  const wrap = el("article", { class: classes, "data-id": m.id });
  if (m.used) {
    const text = m.used.command ? ` used /${m.used.command}` : " clicked a button";
    wrap.append(el("div", { class: "context" }, el("span", { class: "mention" }, "@" + m.used.user), text));
  } else if (m.reply_to) {
    const line = el("div", { class: "context" }, el("b", {}, "@" + m.reply_to.author + " "));
    line.append(markdownInto(el("span", { class: "reply-text" }), m.reply_to.content || "Click to see attachment"));
    wrap.append(line);
  }
  const avatar = el("div", { class: "avatar" });
  paintAvatar(avatar, m.author.username);
  const body = el("div", { class: "body" });
  const meta = el("div", { class: "meta" }, el("span", { class: "author" }, m.author.username));
  if (m.author.bot) meta.append(el("span", { class: "tag" }, "APP"));
  meta.append(el("time", {}, new Date(m.timestamp).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })));
  if (m.edited_timestamp && !m.loading && !m.author.bot) meta.append(el("span", { class: "muted" }, "(edited)"));
  body.append(meta);
  if (m.loading) {
    body.append(el("div", { class: "thinking" }, `${m.author.username} is thinking`, el("span", { class: "dots" })));
  } else if (m.content) {
    body.append(markdownInto(el("div", { class: "content" }), m.content));
  }
  const images = m.attachments.filter((a) => isImage(a));
  if (images.length) {
    const strip = el("div", { class: "attachments" });
    for (const a of images) {
      const link = el("a", { href: a.url, target: "_blank", rel: "noopener" });
      const img = el("img", { src: a.url, alt: a.description || a.filename, class: "attachment", loading: "lazy" });
      img.onload = () => stickToBottom();
      link.append(img);
      strip.append(link);
    }
    body.append(strip);
  }
  for (const a of m.attachments.filter((a) => !isImage(a))) {
    body.append(el("a", { class: "file", href: a.url, download: a.filename }, `📎 ${a.filename}`));
  }
  for (const embed of m.embeds) body.append(drawEmbed(embed, m));
  for (const row of m.components) body.append(drawRow(row, m));
  if (m.ephemeral) {
    const note = el("div", { class: "only-you" }, "👁 Only you can see this • ");
    const dismiss = el("a", { href: "#" }, "Dismiss message");
    dismiss.onclick = (event) => {
      event.preventDefault();
      dismissed.add(m.id);
      forget(m.id);
    };
    note.append(dismiss);
    body.append(note);
  }
  const line = el("div", { class: "line" });
  line.append(avatar, body);
  wrap.append(line);
  return wrap;
}

function drawEmbed(embed, m) {
  const box = el("div", { class: "embed" });
  box.style.borderLeftColor = embed.color != null ? "#" + embed.color.toString(16).padStart(6, "0") : "#1e1f22";
  if (embed.author?.name) box.append(el("div", { class: "embed-author" }, embed.author.name));
  if (embed.title) box.append(markdownInto(el("div", { class: "embed-title" }), embed.title));
  if (embed.description) box.append(markdownInto(el("div", { class: "embed-description" }), embed.description));
  if (embed.fields?.length) {
    const grid = el("div", { class: "embed-fields" });
    for (const f of embed.fields) {
      const cell = el("div", { class: f.inline ? "field inline" : "field" });
      cell.append(markdownInto(el("div", { class: "field-name" }), f.name));
      cell.append(markdownInto(el("div", { class: "field-value" }), f.value));
      grid.append(cell);
    }
    box.append(grid);
  }
  const image = embed.image?.url || embed.thumbnail?.url;
  if (image) box.append(el("img", { class: "embed-image", src: resolveImage(image, m) }));
  if (embed.footer?.text) box.append(el("div", { class: "embed-footer" }, embed.footer.text));
  return box;
}

function drawRow(row, m) {
  const line = el("div", { class: "row" });
  for (const c of row.components || []) {
    if (c.type === 2) line.append(drawButton(c, m));
    else if ([3, 5, 6, 7, 8].includes(c.type)) line.append(drawSelect(c, m));
  }
  return line;
}

function drawButton(c, m) {
  const button = el("button", { class: `button ${STYLE[c.style] || "secondary"}`, type: "button" });
  if (c.emoji) button.append(el("span", { class: "emoji" }, c.emoji.name || ""));
  if (c.label) button.append(el("span", {}, c.label));
  button.disabled = Boolean(c.disabled);
  if (c.style === 5) {
    button.onclick = () => window.open(c.url, "_blank", "noopener");
    button.append(el("span", { class: "emoji" }, "↗"));
  } else {
    button.dataset.customId = c.custom_id;
    button.onclick = () => act("/api/click", { message_id: m.id, custom_id: c.custom_id }, button);
  }
  return button;
}

function drawSelect(c, m) {
  const select = el("select", { class: "menu" });
  select.multiple = (c.max_values || 1) > 1;
  select.disabled = Boolean(c.disabled);
  select.dataset.customId = c.custom_id;
  const options = c.options || [];
  if (!select.multiple) {
    const placeholder = new Option(c.placeholder || "Make a selection", "", true, !options.some((o) => o.default));
    placeholder.disabled = true;
    select.append(placeholder);
  }
  for (const o of options) select.append(new Option(`${o.emoji?.name ? o.emoji.name + " " : ""}${o.label}`, o.value, false, Boolean(o.default)));
  select.onchange = () => {
    const values = [...select.selectedOptions].map((o) => o.value).filter(Boolean);
    if (values.length) act("/api/select", { message_id: m.id, custom_id: c.custom_id, values }, select);
  };
  return select;
}

// ---- what the person does ----

async function act(path, payload, control) {
  if (control) control.classList.add("pending");
  try {
    const answer = await post(path, payload);
    if (!answer.ok) toast(answer.error);
    else if (answer.modal) openModal(answer.modal);
    return answer;
  } finally {
    if (control) control.classList.remove("pending");
  }
}

async function post(path, payload) {
  try {
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user_id: view.userId, channel_id: view.channelId, ...payload }),
    });
    return await response.json();
  } catch (error) {
    return { ok: false, error: `The sandbox is not answering (${error.message})` };
  }
}

$("composer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("input");
  const text = input.value.trim();
  if (!text) return;
  hideSuggestions();
  input.disabled = true;
  const answer = await act("/api/send", { text });
  input.disabled = false;
  if (answer.ok) {
    input.value = "";
    history.push(text);
    recalled = history.length;
  }
  input.focus();
});

$("user").addEventListener("change", (event) => choose(event.target.value, null));

// Discord's command picker, reduced: typing "/" lists the commands that match, Tab or a click completes.
$("input").addEventListener("input", () => {
  const text = $("input").value;
  const box = $("suggestions");
  if (!text.startsWith("/") || text.includes(" ") || !snapshot) return hideSuggestions();
  const found = snapshot.commands.filter((c) => c.name.startsWith(text.slice(1)));
  if (!found.length) return hideSuggestions();
  box.replaceChildren(...found.map((c) => {
    const item = el("div", { class: "suggestion" }, el("b", {}, "/" + c.name));
    for (const o of c.options) item.append(el("span", { class: "option" }, o.required ? o.name : `[${o.name}]`));
    item.append(el("span", { class: "muted" }, c.description));
    item.onmousedown = (event) => {
      event.preventDefault();
      complete(c.name);
    };
    return item;
  }));
  box.classList.remove("hidden");
});

$("input").addEventListener("keydown", (event) => {
  const first = $("suggestions").querySelector(".suggestion b");
  if (event.key === "Tab" && first && !$("suggestions").classList.contains("hidden")) {
    event.preventDefault();
    complete(first.textContent.slice(1));
  } else if (event.key === "Escape") hideSuggestions();
  else if ((event.key === "ArrowUp" || event.key === "ArrowDown") && history.length) {
    // As in a shell: walk back through what was sent, to tweak a prompt and run it again.
    event.preventDefault();
    recalled = Math.max(0, Math.min(history.length, recalled + (event.key === "ArrowUp" ? -1 : 1)));
    $("input").value = history[recalled] || "";
  }
});

function complete(name) {
  $("input").value = `/${name} `;
  hideSuggestions();
  $("input").focus();
}

function hideSuggestions() {
  $("suggestions").classList.add("hidden");
}

// A modal the bot opened: a plain form with its text inputs; submitting sends MODAL_SUBMIT.
function openModal(modal) {
  const overlay = $("overlay");
  const form = el("form", { class: "modal" });
  form.append(el("h3", {}, modal.title || "Form"));
  const inputs = [];
  for (const row of modal.components || []) {
    const input = row.component || (row.components || [])[0];
    if (!input || input.type !== 4) continue;
    const field = input.style === 2 ? el("textarea", { rows: 4 }) : el("input", { type: "text" });
    Object.assign(field, { value: input.value || "", placeholder: input.placeholder || "", required: input.required !== false });
    if (input.max_length) field.maxLength = input.max_length;
    field.dataset.customId = input.custom_id;
    form.append(el("label", {}, row.label || input.label || input.custom_id), field);
    inputs.push(field);
  }
  const buttons = el("div", { class: "modal-buttons" });
  const cancel = el("button", { type: "button", class: "button secondary" }, "Cancel");
  cancel.onclick = () => overlay.classList.add("hidden");
  buttons.append(cancel, el("button", { type: "submit", class: "button primary" }, "Submit"));
  form.append(buttons);
  form.onsubmit = async (event) => {
    event.preventDefault();
    const values = Object.fromEntries(inputs.map((f) => [f.dataset.customId, f.value]));
    const answer = await act("/api/modal", { interaction_id: modal.interaction_id, values });
    if (answer.ok) overlay.classList.add("hidden");
  };
  overlay.replaceChildren(form);
  overlay.classList.remove("hidden");
  inputs[0]?.focus();
}

function toast(text) {
  const note = el("div", { class: "toast" }, text);
  $("toasts").append(note);
  setTimeout(() => note.remove(), 6000);
}

// ---- small helpers ----

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  node.append(...children);
  return node;
}

function paintAvatar(node, name) {
  let hash = 0;
  for (const ch of name) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  node.style.background = PALETTE[hash % PALETTE.length];
  node.textContent = name.slice(0, 1).toUpperCase();
}

function isImage(a) {
  return (a.content_type || "").startsWith("image/") || /\.(png|jpe?g|gif|webp)$/i.test(a.filename);
}

function resolveImage(url, m) {
  if (!url.startsWith("attachment://")) return url;
  const found = m.attachments.find((a) => a.filename === url.slice("attachment://".length));
  return found ? found.url : "";
}

function stickToBottom() {
  const box = $("messages");
  if (box.scrollHeight - box.scrollTop - box.clientHeight < 600) box.scrollTop = box.scrollHeight;
}

// Discord's markdown, the part bots use: **bold**, *italic*, __underline__, ~~strike~~, `code`, mentions, links.
function markdownInto(node, text) {
  const names = snapshot ? snapshot.names : {};
  const channels = snapshot ? Object.fromEntries(snapshot.channels.map((c) => [c.id, c.name])) : {};
  let html = text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  // A backslash escapes markdown punctuation, as in Discord (the bot escapes prompts): keep the character, drop
  // the backslash, and hide it from the rules below. Escaped backticks go first, so they open no code span;
  // inside code spans (taken out next) other backslashes stay as typed.
  const escaped = [];
  const keep = (_, ch) => `\u0001${escaped.push(ch) - 1}\u0001`;
  html = html.replace(/\\(`)/g, keep);
  const code = [];
  html = html.replace(/`([^`]+)`/g, (_, inner) => `\u0000${code.push(inner) - 1}\u0000`);
  html = html.replace(/\\(&amp;|&lt;|&gt;|&quot;|&#39;|[\\*_~|#\-\[\]()])/g, keep);
  html = html
    .replace(/&lt;@!?(\d+)&gt;/g, (_, id) => `<span class="mention">@${names[id] || "unknown-user"}</span>`)
    .replace(/&lt;#(\d+)&gt;/g, (_, id) => `<span class="mention">#${channels[id] || "unknown"}</span>`)
    .replace(/\*\*(.+?)\*\*/g, "<strong>$1</strong>")
    .replace(/__(.+?)__/g, "<u>$1</u>")
    .replace(/(^|[^\w*])\*(?!\s)(.+?)\*(?!\w)/g, "$1<em>$2</em>")
    .replace(/~~(.+?)~~/g, "<s>$1</s>")
    .replace(/(https?:\/\/[^\s<]+)/g, '<a href="$1" target="_blank" rel="noopener">$1</a>')
    .replace(/\n/g, "<br>");
  html = html.replace(/\u0000(\d+)\u0000/g, (_, i) => `<code>${code[Number(i)]}</code>`);
  html = html.replace(/\u0001(\d+)\u0001/g, (_, i) => escaped[Number(i)]);
  node.innerHTML = html;
  return node;
}

connect();
