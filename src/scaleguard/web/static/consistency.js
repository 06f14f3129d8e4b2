"use strict";
(() => {
  const section = document.getElementById("consistency");
  if (!section) return;
  const oldSize = Number(section.dataset.old), newSize = Number(section.dataset.new);
  const input = document.getElementById("trusted-vkey");
  const steps = document.getElementById("verify-steps");
  const result = document.getElementById("verify-result");
  const source = SgVerify.trustedKeyInput(input);

  async function run() {
    const out = SgVerify.reporter(steps, result);
    try {
      out.step("key: " + (await source));
      const key = await SgVerify.parseVkey(input.value);
      const res = await fetch(`/api/v1/ledger/consistency?old=${oldSize}&new=${newSize}`, { headers: { Accept: "application/json" } });
      if (!res.ok) throw new Error(`the server answered ${res.status}`);
      const c = await res.json();
      const a = SgVerify.parseCheckpoint(await SgVerify.openNote(c.old.note, key));
      const b = SgVerify.parseCheckpoint(await SgVerify.openNote(c.new.note, key));
      out.step("both checkpoint signatures verified (Ed25519, WebCrypto)");
      if (a.size !== oldSize || b.size !== newSize) throw new Error("the checkpoints are not the sizes asked for");
      await SgVerify.verifyConsistency(a.size, b.size, c.proof.map(SgVerify.b64decode), a.root, b.root);
      out.step(`${c.proof.length} proof hashes rebuild both roots`);
      SgVerify.pin(input.value);
      out.done(true, `the ledger of ${b.size} entries extends the one of ${a.size} unchanged`);
    } catch (err) {
      out.done(false, err.message);
    }
  }
  document.getElementById("verify-button").addEventListener("click", run);
})();
