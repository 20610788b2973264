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

  for (const root of document.querySelectorAll("section.phone[data-phone]")) new Phone(root);
})();
