"use strict";
(() => {
  const section = document.getElementById("verify");
  if (!section) return;
  const index = Number(section.dataset.index);
  const input = document.getElementById("trusted-vkey");
  const button = document.getElementById("verify-button");
  const steps = document.getElementById("verify-steps");
  const result = document.getElementById("verify-result");
  const source = SgVerify.trustedKeyInput(input);

  async function run() {
    const out = SgVerify.reporter(steps, result);
    try {
      out.step("key: " + (await source));
      const key = await SgVerify.parseVkey(input.value);
      const res = await fetch(`/api/v1/ledger/entries/${index}/proof`, { headers: { Accept: "application/json" } });
      if (!res.ok) throw new Error(`the server answered ${res.status}`);
      const p = await res.json();
      const text = await SgVerify.openNote(p.checkpoint, key);
      out.step(`checkpoint signature by ${key.name} verified (Ed25519, WebCrypto)`);
      const cp = SgVerify.parseCheckpoint(text);
      if (cp.origin !== key.name) throw new Error("the checkpoint's origin is not the key's name");
      let leaf = SgVerify.b64decode(p.leaf_hash);
      if (p.data) {
        const computed = await SgVerify.leafHash(SgVerify.b64decode(p.data));
        if (!SgVerify.equal(computed, leaf)) throw new Error("the entry's bytes do not hash to its leaf hash");
        leaf = computed;
        out.step("leaf hash recomputed from the entry's bytes");
      }
      if (p.index !== index) throw new Error("the proof is for another entry");
      await SgVerify.verifyInclusion(index, cp.size, leaf, p.proof.map(SgVerify.b64decode), cp.root);
      out.step(`Merkle path of ${p.proof.length} hashes leads to the signed root of ${cp.size} entries`);
      SgVerify.pin(input.value);
      out.done(true, `entry ${index} is in the signed ledger of ${cp.size} entries`);
    } catch (err) {
      out.done(false, err.message);
    }
  }
  button.addEventListener("click", run);
})();
