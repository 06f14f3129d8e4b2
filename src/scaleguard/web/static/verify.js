// scaleguard ledger verification in the browser: C2SP signed notes (Ed25519 via WebCrypto)
// and RFC 9162 Merkle inclusion and consistency proofs. Nothing here trusts the server:
// every hash is recomputed and the checkpoint signature is checked against a key the
// reader chooses.
"use strict";

const SgVerify = (() => {
  const enc = new TextEncoder();

  function b64decode(text) {
    if (typeof text !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4) {
      throw new Error("not valid base64: " + String(text).slice(0, 60));
    }
    const bin = atob(text);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function b64encode(bytes) {
    let bin = "";
    for (const b of bytes) bin += String.fromCharCode(b);
    return btoa(bin);
  }

  function concat(...parts) {
    const total = parts.reduce((n, p) => n + p.length, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }

  function equal(a, b) {
    if (a.length !== b.length) return false;
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
    return diff === 0;
  }

  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }

  const leafHash = (data) => sha256(concat(new Uint8Array([0]), data));
  const nodeHash = (left, right) => sha256(concat(new Uint8Array([1]), left, right));

  // name+<8 hex key ID>+base64(0x01 || 32-byte Ed25519 public key); the key ID must be
  // SHA-256(name || 0x0A || 0x01 || key)[:4].
  async function parseVkey(vkey) {
    const text = vkey.trim();
    const first = text.indexOf("+"), second = text.indexOf("+", first + 1);
    if (first < 1 || second < 0) throw new Error("malformed public key: expected name+keyid+key");
    const name = text.slice(0, first), hexId = text.slice(first + 1, second), body = text.slice(second + 1);
    if (!/^[0-9a-f]{8}$/.test(hexId)) throw new Error("malformed public key: bad key ID");
    const raw = b64decode(body);
    if (raw.length !== 33 || raw[0] !== 1) throw new Error("public key is not an Ed25519 key");
    const pub = raw.slice(1);
    const id = (await sha256(concat(enc.encode(name), new Uint8Array([0x0a]), raw))).slice(0, 4);
    const hex = Array.from(id, (b) => b.toString(16).padStart(2, "0")).join("");
    if (hex !== hexId) throw new Error("public key ID does not match its name and key");
    return { name, keyId: id, pub };
  }

  // Returns the signed text when a signature by `key` verifies; throws otherwise.
  async function openNote(note, key) {
    if (!note.endsWith("\n")) throw new Error("signed note does not end with a newline");
    const split = note.lastIndexOf("\n\n");
    if (split < 0) throw new Error("signed note has no signature block");
    const text = note.slice(0, split + 1);
    const lines = note.slice(split + 2, -1).split("\n");
    const cryptoKey = await crypto.subtle.importKey("raw", key.pub, { name: "Ed25519" }, false, ["verify"]);
    for (const line of lines) {
      const m = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!m) throw new Error("malformed signature line: " + line.slice(0, 60));
      if (m[1] !== key.name) continue;
      const sig = b64decode(m[2]);
      if (sig.length !== 68 || !equal(sig.slice(0, 4), key.keyId)) continue;
      const ok = await crypto.subtle.verify({ name: "Ed25519" }, cryptoKey, sig.slice(4), enc.encode(text));
      if (ok) return text;
      throw new Error("the checkpoint signature does not verify with the trusted key");
    }
    throw new Error("the checkpoint is not signed by the trusted key " + key.name);
  }

  function parseCheckpoint(text) {
    const lines = text.slice(0, -1).split("\n");
    if (lines.length < 3) throw new Error("malformed checkpoint");
    if (!/^(0|[1-9][0-9]{0,15})$/.test(lines[1])) throw new Error("malformed checkpoint size");
    const size = Number(lines[1]);
    if (!Number.isSafeInteger(size)) throw new Error("checkpoint size too large for this page");
    const root = b64decode(lines[2]);
    if (root.length !== 32) throw new Error("checkpoint root is not a 32-byte hash");
    return { origin: lines[0], size, root };
  }

  const lsb = (n) => n % 2 === 1;
  const half = (n) => Math.floor(n / 2);

  // RFC 9162 section 2.1.3.2.
  async function verifyInclusion(index, size, leaf, proof, root) {
    if (index >= size) throw new Error(`entry ${index} is not in a tree of ${size}`);
    let fn = index, sn = size - 1, r = leaf;
    for (const p of proof) {
      if (p.length !== 32) throw new Error("a proof hash is not 32 bytes");
      if (sn === 0) throw new Error("the inclusion proof is too long");
      if (lsb(fn) || fn === sn) {
        r = await nodeHash(p, r);
        if (!lsb(fn)) { while (!lsb(fn) && fn !== 0) { fn = half(fn); sn = half(sn); } }
      } else {
        r = await nodeHash(r, p);
      }
      fn = half(fn); sn = half(sn);
    }
    if (sn !== 0) throw new Error("the inclusion proof is too short");
    if (!equal(r, root)) throw new Error("the Merkle path does not lead to the signed root");
    return true;
  }

  // RFC 9162 section 2.1.4.2.
  async function verifyConsistency(first, second, proof, firstRoot, secondRoot) {
    if (first > second) throw new Error("older tree is larger than the newer one");
    if (first === second) {
      if (proof.length !== 0 || !equal(firstRoot, secondRoot)) throw new Error("same size, different roots");
      return true;
    }
    if (first === 0) { if (proof.length !== 0) throw new Error("proof from an empty tree must be empty"); return true; }
    let path = proof.slice();
    let m = first;
    while (m % 2 === 0) m /= 2;
    if (m === 1) path = [firstRoot, ...path];
    if (path.length === 0) throw new Error("the consistency proof is empty");
    let fn = first - 1, sn = second - 1;
    while (lsb(fn)) { fn = half(fn); sn = half(sn); }
    let fr = path[0], sr = path[0];
    for (const c of path.slice(1)) {
      if (c.length !== 32) throw new Error("a proof hash is not 32 bytes");
      if (sn === 0) throw new Error("the consistency proof is too long");
      if (lsb(fn) || fn === sn) {
        fr = await nodeHash(c, fr); sr = await nodeHash(c, sr);
        while (!lsb(fn) && fn !== 0) { fn = half(fn); sn = half(sn); }
      } else {
        sr = await nodeHash(sr, c);
      }
      fn = half(fn); sn = half(sn);
    }
    if (sn !== 0) throw new Error("the consistency proof is too short");
    if (!equal(fr, firstRoot)) throw new Error("the proof does not rebuild the older root");
    if (!equal(sr, secondRoot)) throw new Error("the proof does not rebuild the newer root");
    return true;
  }

  // Shared page wiring: the trusted key input is filled from the key pinned in this
  // browser, else (trust on first use, said so on the page) from this server.
  const PIN = "scaleguard.trusted-vkey";

  // A key the reader typed or pasted is never replaced, even when the server's answer
  // arrives after it: verifying against the server's own key instead would defeat the check.
  // Nor is the server's key written while the reader is in the field: a paste landing
  // just after it would be joined to it. It waits until the reader leaves the field empty.
  async function trustedKeyInput(input) {
    const pinned = localStorage.getItem(PIN);
    if (input.value.trim()) return "entered on this page";
    if (pinned) { input.value = pinned; return "pinned in this browser"; }
    const res = await fetch("/api/v1/ledger/key", { headers: { Accept: "application/json" } });
    const vkey = (await res.json()).vkey;
    if (document.activeElement === input) {
      await new Promise((left) => input.addEventListener("blur", left, { once: true }));
    }
    if (input.value.trim()) return "entered on this page";
    input.value = vkey;
    return "from this server (first use: compare it with the developer's published key)";
  }

  function pin(vkey) { localStorage.setItem(PIN, vkey.trim()); }

  function reporter(list, result) {
    list.textContent = "";
    result.textContent = "";
    result.removeAttribute("data-ok");
    return {
      step(text) { const li = document.createElement("li"); li.textContent = text; list.appendChild(li); },
      done(ok, text) {
        result.textContent = (ok ? "Verified: " : "FAILED: ") + text;
        result.dataset.ok = ok ? "true" : "false";
        result.className = ok ? "ok" : "bad";
      },
    };
  }

  return {
    b64decode, b64encode, leafHash, nodeHash, parseVkey, openNote, parseCheckpoint,
    verifyInclusion, verifyConsistency, trustedKeyInput, pin, reporter, equal,
  };
})();
