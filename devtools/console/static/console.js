// The console without reloading: parts of the page ([data-part]) are fetched again when the event stream names
// one of their topics, and merged in place (elements keep their identity by id, so focus and open <details>
// stay); the new items of a part marked data-announce-new go to a polite live region; forms marked data-enhance
// post with fetch. Without this file every page still works: forms post and redirect, a reload shows the rest.
"use strict";

(() => {
  const notice = document.getElementById("notice");
  const announcer = document.getElementById("announcer");

  function say(text) {
    notice.textContent = text;
  }

  function carryOpen(current, fresh) {
    const open = Array.from(current.querySelectorAll("details"), (details) => details.open);
    fresh.querySelectorAll("details").forEach((details, index) => {
      details.open = Boolean(open[index]);
    });
    if (current.tagName === "DETAILS") fresh.open = current.open;
  }

  function swap(current, fresh) {
    const focused = current.contains(document.activeElement) ? document.activeElement.id : "";
    current.replaceWith(fresh);
    if (focused) document.getElementById(focused)?.focus();
    return fresh;
  }

  // Makes target's children those of fresh; returns the elements that were not there before.
  function patch(target, fresh) {
    const added = [];
    const wanted = Array.from(fresh.children);
    const ids = new Set(wanted.map((node) => node.id).filter(Boolean));
    for (const child of Array.from(target.children)) {
      if (!child.id || !ids.has(child.id)) child.remove();
    }
    let cursor = target.firstElementChild;
    for (const node of wanted) {
      let current = node.id ? target.querySelector(`:scope > #${CSS.escape(node.id)}`) : null;
      if (current) {
        if (current !== cursor) target.insertBefore(current, cursor);
        if (current.hasAttribute("data-keyed")) {
          added.push(...patch(current, node));
        } else {
          carryOpen(current, node);
          if (current.outerHTML !== node.outerHTML) current = swap(current, node);
        }
      } else {
        target.insertBefore(node, cursor);
        current = node;
        if (node.id) added.push(node);
      }
      cursor = current.nextElementSibling;
    }
    return added;
  }

  async function load(part) {
    if (part.dataset.loading) {
      part.dataset.again = "yes";
      return;
    }
    part.dataset.loading = "yes";
    try {
      const response = await fetch(part.dataset.part, { headers: { Accept: "text/html" } });
      if (response.ok) {
        const template = document.createElement("template");
        template.innerHTML = await response.text();
        const added = patch(part, template.content);
        const news = added.map((node) => node.dataset.announce).filter(Boolean);
        if (news.length && part.hasAttribute("data-announce-new")) announcer.textContent = news.slice(-3).join(". ");
      }
    } finally {
      delete part.dataset.loading;
      if (part.dataset.again) {
        delete part.dataset.again;
        load(part);
      }
    }
  }

  function refresh(topics) {
    for (const part of document.querySelectorAll("[data-part]")) {
      const wanted = part.dataset.topics.split(" ");
      if (topics.includes("*") || wanted.some((topic) => topics.includes(topic))) load(part);
    }
  }

  // The phone's conversation follows the numbers typed in the form.
  function followPhone(form) {
    const part = document.getElementById("chat-part");
    if (!part) return;
    const url = new URL(part.dataset.part, location.href);
    url.searchParams.set("phone", form.elements.phone.value);
    url.searchParams.set("number", form.elements.number.value);
    url.searchParams.set("channel", form.elements.channel.value);
    part.dataset.part = url.pathname + url.search;
    load(part);
  }

  document.addEventListener("change", (event) => {
    if (event.target.matches("[data-chat]")) followPhone(event.target.form);
  });

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!form.matches("form[data-enhance]")) return;
    event.preventDefault();
    const button = event.submitter || form.querySelector("button");
    button.disabled = true;
    say("Working…");
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json" },
      });
      const result = await response.json();
      say(result.notice);
      if (result.ok) {
        form.querySelectorAll("[data-clear]").forEach((field) => {
          field.value = "";
        });
      }
      if (form.querySelector("[data-chat]")) followPhone(form);
      refresh(["*"]);
    } catch {
      say("The console did not answer: is make local still running?");
    } finally {
      button.disabled = false;
    }
  });

  const live = new EventSource(`/console/events?after=${document.body.dataset.version}`);
  live.onmessage = (message) => refresh(JSON.parse(message.data));
  live.onopen = () => document.documentElement.classList.add("live");
  live.onerror = () => document.documentElement.classList.remove("live");
})();
