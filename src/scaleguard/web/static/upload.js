"use strict";
// Evidence upload with a progress bar: XMLHttpRequest reports upload progress, fetch does not.
(() => {
  const form = document.getElementById("upload");
  if (!form) return;
  const bar = document.getElementById("upload-progress");
  const result = document.getElementById("upload-result");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/evidence");
    xhr.setRequestHeader("X-CSRF-Token", form.dataset.csrf);
    bar.hidden = false;
    bar.value = 0;
    result.textContent = "uploading…";
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) bar.value = Math.round((100 * e.loaded) / e.total);
    });
    xhr.upload.addEventListener("load", () => { result.textContent = "ingesting…"; });
    xhr.addEventListener("load", () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
      if (xhr.status === 201) {
        bar.value = 100;
        const f = body.files[0];
        result.textContent = `${f.path}: ${f.status}, ${f.records} record(s) (${f.format}, sha256 ${f.sha256.slice(0, 16)}…)`;
        result.dataset.ok = "true";
        setTimeout(() => window.location.reload(), 1500);
      } else {
        const err = body.error || { message: `the server answered ${xhr.status}`, hint: "" };
        result.textContent = `Refused: ${err.message}${err.hint ? " (" + err.hint + ")" : ""}`;
        result.dataset.ok = "false";
      }
    });
    xhr.addEventListener("error", () => { result.textContent = "the upload failed (network)"; result.dataset.ok = "false"; });
    xhr.send(new FormData(form));
  });
})();
