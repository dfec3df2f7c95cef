"""A plain PyTorch implementation of the fit's and the scoring's passes, for `npm run bench` to measure the
engine against on the same CPU (issue 27). Deliberately straightforward, as a researcher would write it:
batches of 8 in corpus order padded to their longest sequence, autograd for g_t, dense products.

Usage: python3 bench/torch_baseline.py DIR   (DIR holds meta.json and weights.bin written by
bench/torchBaseline.ts: the model's weights in the engine's layout, its config, the token ids of the corpus
and of the queries). Prints one JSON object: tokens and seconds per pass, and every sequence's loss so that
the caller can check this computes what the engine computes.
"""
import json
import math
import os
import sys
import time

import numpy as np
import torch


def load(d):
    with open(os.path.join(d, "meta.json")) as f:
        meta = json.load(f)
    raw = np.fromfile(os.path.join(d, "weights.bin"), dtype=np.float32)
    w = {}
    for t in meta["tensors"]:
        n = int(np.prod(t["shape"]))
        w[t["name"]] = torch.from_numpy(raw[t["offset"] : t["offset"] + n].reshape(t["shape"]).copy())
    return meta, w


class Llama:
    """The engine's llama forward: RMSNorm, interleaved RoPE, grouped-query attention, SwiGLU MLP."""

    def __init__(self, c, w):
        self.c, self.w = c, w
        self.hd = c["dim"] // c["nHeads"]
        inv = 1.0 / (c["ropeTheta"] ** (np.arange(0, self.hd, 2, dtype=np.float64) / self.hd))
        ang = np.outer(np.arange(c["maxSeqLen"]), inv)
        self.cos = torch.from_numpy(np.cos(ang).astype(np.float32))
        self.sin = torch.from_numpy(np.sin(ang).astype(np.float32))
        self.modules = [f"layers.{i}.{k}" for i in range(c["nLayers"]) for k in ("w1", "w3", "w2")]

    def norm(self, x, g):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.c["normEps"]) * g

    def rope(self, x, L):
        x0, x1 = x[..., 0::2], x[..., 1::2]
        cos, sin = self.cos[:L, None, :], self.sin[:L, None, :]
        return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), -1).flatten(-2)

    def forward(self, ids, taps, inputs):
        c, w = self.c, self.w
        B, L = ids.shape
        H, Hkv, hd = c["nHeads"], c["nKvHeads"], self.hd
        x = w["embed"][ids]
        mask = torch.full((L, L), float("-inf")).triu(1)

        def tracked(name, h):
            inputs[name] = h
            return h @ w[name].T + taps[name]

        for i in range(c["nLayers"]):
            p = f"layers.{i}."
            h = self.norm(x, w[p + "attn_norm"])
            q = self.rope((h @ w[p + "wq"].T).view(B, L, H, hd), L).transpose(1, 2)
            k = self.rope((h @ w[p + "wk"].T).view(B, L, Hkv, hd), L).transpose(1, 2)
            v = (h @ w[p + "wv"].T).view(B, L, Hkv, hd).transpose(1, 2)
            k = k.repeat_interleave(H // Hkv, 1)
            v = v.repeat_interleave(H // Hkv, 1)
            att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + mask, -1)
            x = x + (att @ v).transpose(1, 2).reshape(B, L, H * hd) @ w[p + "wo"].T
            h = self.norm(x, w[p + "mlp_norm"])
            gate = tracked(p + "w1", h)
            up = tracked(p + "w3", h)
            x = x + tracked(p + "w2", torch.nn.functional.silu(gate) * up)
        return self.norm(x, w["final_norm"]) @ w.get("lm_head", w["embed"]).T


def capture(model, seqs):
    """a_t, g_t of every tracked module (padding rows zero) and each sequence's summed loss."""
    B, L = len(seqs), max(len(s) for s in seqs)
    ids = torch.zeros((B, L), dtype=torch.long)
    real = torch.zeros((B, L))
    target = torch.zeros((B, L))
    for b, s in enumerate(seqs):
        ids[b, : len(s)] = torch.tensor(s)
        real[b, : len(s)] = 1
        target[b, : len(s) - 1] = 1
    w = model.w
    taps = {n: torch.zeros((B, L, w[n].shape[0]), requires_grad=True) for n in model.modules}
    inputs = {}
    logits = model.forward(ids, taps, inputs)
    labels = torch.roll(ids, -1, 1)
    nll = -torch.log_softmax(logits, -1).gather(-1, labels[..., None])[..., 0] * target
    grads = torch.autograd.grad(nll.sum(), [taps[n] for n in model.modules])
    caps = {n: ((inputs[n] * real[..., None]).detach(), g) for n, g in zip(model.modules, grads)}
    return caps, nll.sum(1).detach()


def batches(seqs, size=8):
    return [seqs[i : i + size] for i in range(0, len(seqs), size)]


def timed(fn, seqs):
    t0 = time.perf_counter()
    out = fn(seqs)
    return out, {"tokens": sum(len(s) for s in seqs), "seconds": time.perf_counter() - t0}


def main():
    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "2")))
    meta, w = load(sys.argv[1])
    model = Llama(meta["config"], w)
    corpus, queries = meta["sequences"], meta["queries"]
    losses = []

    def covariance(seqs):
        A, S = {}, {}
        for batch in batches(seqs):
            caps, loss = capture(model, batch)
            losses.extend(loss.tolist())
            for n, (a, g) in caps.items():
                a2, g2 = a.reshape(-1, a.shape[-1]), g.reshape(-1, g.shape[-1])
                A[n] = A.get(n, 0) + a2.T @ a2
                S[n] = S.get(n, 0) + g2.T @ g2
        return A, S

    (A, S), cov = timed(covariance, corpus)
    bases = {n: (torch.linalg.eigh(A[n])[1], torch.linalg.eigh(S[n])[1]) for n in model.modules}

    def lam(seqs):
        out = {}
        for batch in batches(seqs):
            caps, _ = capture(model, batch)
            for n, (a, g) in caps.items():
                QA, QS = bases[n]
                G = torch.einsum("blo,bli->boi", g, a)
                out[n] = out.get(n, 0) + (QS.T @ G @ QA).pow(2).sum(0)
        return out

    lambdas, lam_fig = timed(lam, corpus)

    def prepared():
        qcaps = [capture(model, [q])[0] for q in queries]
        P = {}
        for n in model.modules:
            QA, QS = bases[n]
            rows = []
            for caps in qcaps:
                a, g = caps[n]
                G = torch.einsum("blo,bli->oi", g, a)
                rows.append((QS @ ((QS.T @ G @ QA) / (lambdas[n] + 0.1 * lambdas[n].mean())) @ QA.T).reshape(-1))
            P[n] = torch.stack(rows, 1)
        return P

    P = prepared()

    def score(seqs):
        out = []
        for batch in batches(seqs):
            caps, _ = capture(model, batch)
            total = 0
            for n, (a, g) in caps.items():
                G = torch.einsum("blo,bli->boi", g, a).reshape(len(batch), -1)
                total = total + G @ P[n]
            out.append(total)
        return torch.cat(out)

    _, score_fig = timed(score, corpus)
    print(
        json.dumps(
            {
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "passes": {"covariance": cov, "lambda": lam_fig, "score": score_fig},
                "losses": losses,
            }
        )
    )


if __name__ == "__main__":
    main()
