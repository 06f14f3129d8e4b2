"use strict";
// Console forms send JSON to the API with the session's CSRF token and show the answer:
// the recorded result, or the error envelope's message and hint.
(() => {
  for (const form of document.querySelectorAll("form.json-form")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const out = form.querySelector(".result");
      const body = {};
      let url = form.dataset.action;
      for (const el of form.elements) {
        if (!el.name || el.value === "") continue;
        if (el.dataset.path) { url = url.replace(`{${el.name}}`, encodeURIComponent(el.value)); continue; }
        body[el.name] = el.dataset.list ? el.value.split(",").map((s) => s.trim()).filter(Boolean) : el.value;
      }
      out.textContent = "recording…";
      delete out.dataset.ok;
      try {
        const res = await fetch(url, {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": form.dataset.csrf },
          body: JSON.stringify(body),
        });
        const data = await res.json();
        if (res.ok) {
          out.textContent = "Recorded: " + JSON.stringify(data);
          out.dataset.ok = "true";
        } else {
          const e = data.error || {};
          out.textContent = `Refused: ${e.message}${e.hint ? " (" + e.hint + ")" : ""}`;
          out.dataset.ok = "false";
        }
      } catch (err) {
        out.textContent = "Refused: " + err.message;
        out.dataset.ok = "false";
      }
    });
  }
})();
