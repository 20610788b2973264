// The local simulator page: two phones (SMS and Telegram) talking to the gateway's /simulator/api/message.
// Privacy: everything lives in this page's memory only (no web storage, no cookies). Message text is only ever put
// into the page as text nodes; Telegram's HTML is rebuilt node by node, keeping <b> and text and nothing else.
"use strict";

(() => {
  const API = "/simulator/api/message";
  const TIMEOUT_MS = 60000;
  const PREVIEW_CHARS = 40;
  const FADE_MS = 300;
  // what she can type on Telegram instead of tapping the menu
  const TELEGRAM_COMMANDS = {
    "/start": "start",
    "/menu": "menu",
    "/language": "change_language",
    "/forget": "forget",
  };
  const COMMAND_LABELS = { start: "/start", menu: "/menu", change_language: "/language", forget: "/forget" };
  const EVENT_NOTES = {
    degraded: "The assistant is not answering: the gateway sent its fallback message.",
    rate_limited: "Rate limit reached: the gateway sent one notice.",
    rate_dropped: "Rate limit: this message got no reply.",
    duplicate: "Duplicate delivery: ignored.",
    handoff_relayed: "Passed to the advocates: the assistant stays silent while a person chats with her.",
  };

  function newUserId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // ---- Telegram HTML: rebuild from a parsed copy, keeping text and <b> only --------------------------------------
  const DROP_WITH_CONTENT = new Set(["SCRIPT", "STYLE", "TEMPLATE", "NOSCRIPT", "IFRAME", "OBJECT", "SVG", "MATH"]);

  function copySafe(source, target) {
    for (const child of source.childNodes) {
      if (child.nodeType === Node.TEXT_NODE) {
        target.appendChild(document.createTextNode(child.nodeValue));
      } else if (child.nodeType === Node.ELEMENT_NODE) {
        const name = child.nodeName.toUpperCase();
        if (DROP_WITH_CONTENT.has(name)) continue;
        if (name === "B" || name === "STRONG") {
          const bold = document.createElement("b");
          copySafe(child, bold);
          target.appendChild(bold);
        } else if (name === "BR") {
          target.appendChild(document.createTextNode("\n"));
        } else {
          copySafe(child, target); // any other tag: its text, without the tag or its attributes
        }
      }
    }
  }

  function telegramFragment(html) {
    const parsed = new DOMParser().parseFromString(`<!doctype html><body>${html}</body>`, "text/html");
    const fragment = document.createDocumentFragment();
    copySafe(parsed.body, fragment);
    return fragment;
  }

  function costLine(sms) {
    const single = sms.encoding === "GSM-7" ? 160 : 70;
    const segments = `${sms.segments} segment${sms.segments === 1 ? "" : "s"}`;
    if (sms.segments <= 1) return `${sms.encoding} · ${sms.units}/${single} · ${segments}`;
    return `${sms.encoding} · ${sms.units} units · ${segments}`;
  }

  function lockPreview(text) {
    const flat = text.replace(/\s+/g, " ").trim();
    const chars = Array.from(flat); // whole code points: never half a character
    return chars.length > PREVIEW_CHARS ? chars.slice(0, PREVIEW_CHARS).join("") + "…" : flat;
  }

  // ---- one phone ------------------------------------------------------------------------------------------------
  class Phone {
    constructor(root) {
      this.root = root;
      this.kind = root.dataset.phone; // "sms" | "telegram"
      this.messages = root.querySelector(`[data-testid="${this.kind}-messages"]`);
      this.input = root.querySelector(`[data-testid="${this.kind}-input"]`);
      this.send = root.querySelector(`[data-testid="${this.kind}-send"]`);
      this.userLabel = root.querySelector(`[data-testid="${this.kind}-user"]`);
      this.lock = root.querySelector('[data-testid="lockscreen"]');
      this.language = root.querySelector('[data-testid="telegram-language"]');
      this.menu = root.querySelector("details.commands");
      this.busy = false;
      this.newUser();

      root.querySelector("form.composer").addEventListener("submit", (event) => {
        event.preventDefault();
        this.submitTyped();
      });
      this.input.addEventListener("keydown", (event) => {
        if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
        event.preventDefault(); // Enter sends; Shift+Enter is a new line; an input method's Enter is its own
        this.submitTyped();
      });
      this.input.addEventListener("input", () => this.refresh());
      root.querySelector('[data-action="new-user"]').addEventListener("click", () => this.newUser());
      for (const button of root.querySelectorAll("[data-command]")) {
        button.addEventListener("click", () => {
          if (this.menu) this.menu.open = false;
          this.deliver("", button.dataset.command);
        });
      }
    }

    newUser() {
      this.user = newUserId();
      this.userLabel.textContent = `user ${this.user.slice(0, 8)}`;
      this.messages.replaceChildren();
      if (this.lock) this.lock.textContent = "No messages";
      this.input.value = "";
      this.refresh();
    }

    refresh() {
      this.send.disabled = this.busy || this.input.value.trim() === "";
      this.send.textContent = this.busy ? "…" : "Send";
    }

    submitTyped() {
      const text = this.input.value;
      if (this.busy) return;
      if (text.trim() === "") {
        this.refresh();
        return; // an empty message is never sent
      }
      let command = null;
      if (this.kind === "telegram") {
        const word = text.trim().toLowerCase().split(/\s+/)[0].replace(/@\w+$/, "");
        if (text.trim().split(/\s+/).length === 1 && TELEGRAM_COMMANDS[word]) command = TELEGRAM_COMMANDS[word];
      }
      this.input.value = "";
      this.deliver(command ? "" : text, command, text.trim());
    }

    scrollDown() {
      this.messages.scrollTop = this.messages.scrollHeight;
    }

    note(text) {
      const node = el("div", { class: "note", "data-testid": "note", dir: "auto", role: "status" }, text);
      this.messages.appendChild(node);
      this.scrollDown();
      return node;
    }

    mine(text) {
      const row = el("div", { class: "msg mine pending", "data-testid": "mine" });
      row.appendChild(el("div", { class: "text", dir: "auto" }, text));
      this.messages.appendChild(row);
      this.scrollDown();
      return row;
    }

    reply(reply) {
      const row = el("div", { class: "msg theirs", "data-testid": "reply" });
      if (reply.id !== undefined) row.dataset.messageId = String(reply.id);
      const body = el("div", { class: "text", dir: "auto" });
      if (this.kind === "telegram" && reply.html) body.appendChild(telegramFragment(String(reply.text)));
      else body.textContent = String(reply.text);
      row.appendChild(body);
      if (reply.sms) row.appendChild(el("div", { class: "cost", "data-testid": "sms-cost" }, costLine(reply.sms)));
      this.messages.appendChild(row);
      if (this.lock) this.lock.textContent = lockPreview(String(reply.text));
      this.scrollDown();
    }

    remove(ids) {
      const wanted = new Set(ids.map(String));
      let removed = 0;
      for (const row of this.messages.querySelectorAll(".msg[data-message-id]")) {
        if (!wanted.has(row.dataset.messageId)) continue;
        removed += 1;
        row.classList.add("fading");
        row.removeAttribute("data-testid"); // gone from her chat at once; the fade is only for the eye
        setTimeout(() => row.remove(), FADE_MS);
      }
      return removed;
    }

    setBusy(busy) {
      this.busy = busy;
      if (busy) {
        this.typing = el("div", { class: "msg theirs typing", "data-testid": "typing", "aria-label": "waiting" }, "…");
        this.messages.appendChild(this.typing);
        this.scrollDown();
      } else if (this.typing) {
        this.typing.remove();
        this.typing = null;
      }
      this.refresh();
    }

    async deliver(text, command, shown) {
      if (this.busy) return;
      const label = command ? COMMAND_LABELS[command] : (shown || text);
      const bubble = this.mine(label);
      const body = { phone: this.kind, user: this.user, text, command: command || null };
      if (this.kind === "telegram" && this.language.value) body.language_code = this.language.value;
      const user = this.user;
      this.setBusy(true);
      let response;
      let data = null;
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
      try {
        response = await fetch(API, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(body),
          credentials: "omit",
          cache: "no-store",
          signal: abort.signal,
        });
        try {
          data = await response.json();
        } catch (_) {
          data = null;
        }
      } catch (_) {
        response = null;
      } finally {
        clearTimeout(timer);
        this.setBusy(false);
      }
      if (user !== this.user) return; // "New user" while waiting: this answer belongs to a cleared phone
      if (!response) {
        this.failed(bubble);
        this.note("The gateway is not answering");
      } else if (!response.ok || !data) {
        this.failed(bubble);
        const reason = data && typeof data.error === "string" ? data.error : `HTTP ${response.status}`;
        this.note(response.status === 400 ? reason : `The gateway answered with an error: ${reason}`);
      } else {
        this.show(bubble, data);
      }
      this.input.focus();
    }

    failed(bubble) {
      bubble.classList.remove("pending");
      bubble.classList.add("failed");
      bubble.appendChild(el("div", { class: "cost" }, "Not delivered"));
    }

    show(bubble, data) {
      bubble.classList.remove("pending");
      if (data.message_id !== undefined && data.message_id !== null) bubble.dataset.messageId = String(data.message_id);
      const deleted = Array.isArray(data.deleted) ? data.deleted : [];
      if (deleted.length && this.remove(deleted) > 0) this.note("Messages deleted from this chat");
      const replies = Array.isArray(data.replies) ? data.replies : [];
      for (const reply of replies) {
        if (reply && typeof reply.text === "string") this.reply(reply);
      }
      if (EVENT_NOTES[data.event]) this.note(EVENT_NOTES[data.event]);
      else if (data.event === "forgotten" && this.kind === "sms") {
        this.note("Conversation wiped from the service. The SMS thread stays on her phone until she deletes it.");
      } else if (!replies.length && data.event && data.event !== "answered" && data.event !== "forgotten") {
        this.note(`No reply (${data.event}).`);
      }
    }
  }

  const phones = {};
  for (const root of document.querySelectorAll("section.phone[data-phone]")) {
    const phone = new Phone(root);
    phones[phone.kind] = phone;
  }

  // ---- the advocates' side: a Telegram group with a topic per case, and an SMS advocate's phone ------------------
  async function post(path, body) {
    try {
      const response = await fetch(path, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
        credentials: "omit",
        cache: "no-store",
      });
      return response.ok ? await response.json() : null;
    } catch (_) {
      return null;
    }
  }

  class Desk {
    constructor(root) {
      this.root = root;
      this.topics = root.querySelector('[data-testid="topics"]');
      this.messages = root.querySelector('[data-testid="group-messages"]');
      this.groupInput = root.querySelector('[data-testid="group-input"]');
      this.smsMessages = root.querySelector('[data-testid="advocate-sms-messages"]');
      this.smsInput = root.querySelector('[data-testid="advocate-sms-input"]');
      this.duty = root.querySelector('[data-testid="on-duty"]');
      this.selected = null; // the topic shown; null: none yet
      this.seen = new Set(); // topics this page has shown
      this.group = { topics: [], general: [] };
      this.drawn = "";
      root.querySelector('[data-form="group"]').addEventListener("submit", (event) => {
        event.preventDefault();
        this.sendInTopic();
      });
      root.querySelector('[data-form="advocate-sms"]').addEventListener("submit", (event) => {
        event.preventDefault();
        this.sendSms();
      });
      for (const input of [this.groupInput, this.smsInput]) {
        input.addEventListener("keydown", (event) => {
          if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
          event.preventDefault();
          input.form.requestSubmit();
        });
      }
      root.querySelector('[data-testid="delete-topic"]').addEventListener("click", async () => {
        if (this.selected === null) return;
        await post("/simulator/api/advocate", { desk: "telegram", delete_topic: this.selected });
        this.selected = null;
        poll();
      });
      this.duty.addEventListener("change", async () => {
        await post("/simulator/api/on-duty", { on_duty: this.duty.checked });
      });
    }

    async sendInTopic() {
      const text = this.groupInput.value;
      if (!text.trim()) return;
      this.groupInput.value = "";
      await post("/simulator/api/advocate", { desk: "telegram", topic: this.selected, text });
      poll();
    }

    async sendSms() {
      const text = this.smsInput.value;
      if (!text.trim()) return;
      this.smsInput.value = "";
      this.smsBubble(text, "advocate");
      await post("/simulator/api/advocate", { desk: "sms", text });
      poll();
    }

    smsBubble(text, who) {
      const row = el("div", { class: `msg ${who}`, "data-testid": who === "bot" ? "advocate-sms-reply" : "advocate-sms-mine" });
      row.appendChild(el("div", { class: "text", dir: "auto" }, text));
      this.smsMessages.appendChild(row);
      this.smsMessages.scrollTop = this.smsMessages.scrollHeight;
    }

    show(group, onDuty) {
      if (typeof onDuty === "boolean") this.duty.checked = onDuty;
      this.group = group;
      const ids = group.topics.map((t) => t.id);
      const fresh = ids.filter((id) => !this.seen.has(id));
      for (const id of fresh) this.seen.add(id);
      if (fresh.length) this.selected = fresh[fresh.length - 1]; // a new request is shown as it arrives
      if (this.selected !== null && !ids.includes(this.selected)) this.selected = null;
      if (this.selected === null && ids.length) this.selected = ids[ids.length - 1];
      const drawn = JSON.stringify([group, this.selected]);
      if (drawn === this.drawn) return; // unchanged: keep the scroll position and any selection
      this.drawn = drawn;
      this.topics.replaceChildren();
      for (const topic of group.topics) {
        const tab = el("button", { type: "button", role: "tab", "data-testid": "topic",
                                   "aria-selected": String(topic.id === this.selected) }, topic.name);
        tab.addEventListener("click", () => {
          this.selected = topic.id;
          this.show(this.group);
        });
        this.topics.appendChild(tab);
      }
      this.messages.replaceChildren();
      const topic = group.topics.find((t) => t.id === this.selected);
      for (const message of topic ? topic.messages : []) {
        const row = el("div", { class: `msg ${message.from}`, "data-testid": `group-${message.from}` });
        row.appendChild(el("div", { class: "text", dir: "auto" }, String(message.text)));
        if (message.take) {
          const take = el("button", { type: "button", class: "small", "data-testid": "take" }, "Take");
          take.addEventListener("click", async () => {
            await post("/simulator/api/advocate", { desk: "telegram", topic: topic.id, button: `take:${message.take}` });
            poll();
          });
          row.appendChild(take);
        }
        this.messages.appendChild(row);
      }
      this.messages.scrollTop = this.messages.scrollHeight;
    }
  }

  const deskRoot = document.querySelector('[data-testid="desk"]');
  const desk = deskRoot ? new Desk(deskRoot) : null;
  let polling = false;

  // what arrived without her writing (an advocate's answer, a timer's message) and the advocates' side, every second
  async function poll() {
    if (polling) return;
    polling = true;
    try {
      const query = new URLSearchParams({ sms: phones.sms.user, telegram: phones.telegram.user });
      const response = await fetch(`/simulator/api/poll?${query}`, { credentials: "omit", cache: "no-store" });
      if (!response.ok) return;
      const data = await response.json();
      for (const kind of ["sms", "telegram"]) {
        const got = data[kind];
        if (!got) continue;
        if (Array.isArray(got.deleted) && got.deleted.length && phones[kind].remove(got.deleted) > 0) {
          phones[kind].note("Messages deleted from this chat");
        }
        for (const reply of got.replies || []) if (reply && typeof reply.text === "string") phones[kind].reply(reply);
      }
      if (desk && data.group) {
        for (const reply of (data.advocate_sms && data.advocate_sms.replies) || []) desk.smsBubble(String(reply.text), "bot");
        desk.show(data.group, data.on_duty);
      } else if (deskRoot) {
        deskRoot.hidden = true; // real desks are configured: the simulator plays no advocates
      }
    } catch (_) {
      // the gateway is restarting: the next round tries again
    } finally {
      polling = false;
    }
  }
  setInterval(poll, 1000);
  poll();
})();
