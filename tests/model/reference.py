"""Plain-PyTorch reference forward passes of the *ForSequenceClassification
reward models rmb runs, written from the published transformers model
definitions (modeling_llama, modeling_mistral, modeling_qwen2,
modeling_qwen3, modeling_gemma2) for float32 inference on one unpadded
sequence.  W maps Hugging Face tensor names to float32 tensors."""
import math

import torch


def rms_norm(x, w, eps, plus_one=False):
    var = x.pow(2).mean(-1, keepdim=True)
    x = x * torch.rsqrt(var + eps)
    return x * (1.0 + w) if plus_one else w * x


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def inv_freq(cfg):
    dim = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
    base = cfg.get("rope_theta", 10000.0)
    inv = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    rs = cfg.get("rope_scaling") or {}
    kind = rs.get("rope_type", rs.get("type", "default"))
    if kind == "linear":
        inv = inv / rs["factor"]
    elif kind == "llama3":
        factor, low, high = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        low_wl, high_wl = old / low, old / high
        wavelen = 2 * math.pi / inv
        scaled = torch.where(wavelen > low_wl, inv / factor, inv)
        smooth = (old / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wavelen < high_wl) * ~(wavelen > low_wl)
        inv = torch.where(medium, smoothed, scaled)
    return inv


def rope(q, k, positions, inv):
    freqs = positions.float()[:, None] @ inv[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[None], emb.sin()[None]
    return q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin


def mask(n, window):
    q = torch.arange(n)[:, None]
    k = torch.arange(n)[None, :]
    ok = k <= q
    if window:
        ok = ok & (q - k < window)
    return torch.where(ok, 0.0, float("-inf"))


def dims(cfg):
    heads = cfg["num_attention_heads"]
    kv = cfg.get("num_key_value_heads", heads)
    return heads, kv, cfg.get("head_dim") or cfg["hidden_size"] // heads


def linear(W, name, x):
    y = x @ W[name + ".weight"].T
    b = W.get(name + ".bias")
    return y + b if b is not None else y


def attend(cfg, q, k, v, positions, window, scaling=None, softcap=None):
    """q: [heads, n, hd], k and v: [kv, n, hd] after any q/k norm; returns [n, heads * hd]."""
    heads, kv, hd = dims(cfg)
    n = q.shape[1]
    q, k = rope(q, k, positions, inv_freq(cfg))
    k = k.repeat_interleave(heads // kv, dim=0)
    v = v.repeat_interleave(heads // kv, dim=0)
    scores = (q @ k.transpose(1, 2)) * (scaling if scaling is not None else hd ** -0.5)
    if softcap:
        scores = torch.tanh(scores / softcap) * softcap
    scores = scores + mask(n, window)
    probs = torch.softmax(scores, dim=-1, dtype=torch.float32)
    return (probs @ v).transpose(0, 1).reshape(n, heads * hd)


def attention(cfg, W, p, x, positions, window, qk_norm=False, scaling=None, softcap=None):
    heads, kv, hd = dims(cfg)
    n = x.shape[0]
    q = linear(W, p + "q_proj", x).view(n, heads, hd).transpose(0, 1)
    k = linear(W, p + "k_proj", x).view(n, kv, hd).transpose(0, 1)
    v = linear(W, p + "v_proj", x).view(n, kv, hd).transpose(0, 1)
    if qk_norm:
        q = rms_norm(q, W[p + "q_norm.weight"], cfg["rms_norm_eps"])
        k = rms_norm(k, W[p + "k_norm.weight"], cfg["rms_norm_eps"])
    out = attend(cfg, q, k, v, positions, window, scaling, softcap)
    return linear(W, p + "o_proj", out)


def mlp(W, p, x, act):
    return linear(W, p + "down_proj", act(linear(W, p + "gate_proj", x)) * linear(W, p + "up_proj", x))


def silu(x):
    return torch.nn.functional.silu(x)


def gelu_tanh(x):
    return torch.nn.functional.gelu(x, approximate="tanh")


def pooled_score(cfg, W, h, ids):
    logits = h @ W["score.weight"].T
    pad = cfg.get("pad_token_id")
    if pad is None:
        return logits[-1]
    mask = (ids != pad).int()
    last = (torch.arange(ids.shape[0]) * mask).argmax(-1)
    return logits[last]


def llama_hidden(cfg, W, ids, windows, qk_norm=False):
    """Llama, Mistral, Qwen2, Qwen3: pre-norm residual blocks with SwiGLU;
    the final-normed hidden states of every token."""
    x = W["model.embed_tokens.weight"][ids]
    positions = torch.arange(ids.shape[0])
    eps = cfg["rms_norm_eps"]
    for i in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % i
        h = rms_norm(x, W[p + "input_layernorm.weight"], eps)
        x = x + attention(cfg, W, p + "self_attn.", h, positions, windows[i], qk_norm)
        h = rms_norm(x, W[p + "post_attention_layernorm.weight"], eps)
        x = x + mlp(W, p + "mlp.", h, silu)
    return rms_norm(x, W["model.norm.weight"], eps)


def llama_like(cfg, W, ids, windows, qk_norm=False):
    return pooled_score(cfg, W, llama_hidden(cfg, W, ids, windows, qk_norm), ids)


def llama(cfg, W, ids):
    return llama_like(cfg, W, ids, [None] * cfg["num_hidden_layers"])


def mistral(cfg, W, ids):
    return llama_like(cfg, W, ids, [cfg.get("sliding_window")] * cfg["num_hidden_layers"])


def qwen_windows(cfg):
    use = cfg.get("use_sliding_window", False)
    return [cfg["sliding_window"] if use and i >= cfg["max_window_layers"] else None
            for i in range(cfg["num_hidden_layers"])]


def qwen2(cfg, W, ids):
    return llama_like(cfg, W, ids, qwen_windows(cfg))


def qwen3(cfg, W, ids):
    return llama_like(cfg, W, ids, qwen_windows(cfg), qk_norm=True)


def gemma2(cfg, W, ids):
    """Gemma2: scaled embeddings, sandwich norms with (1 + w), soft-capped
    attention, sliding window on even layers, GELU-tanh.  No final logit
    soft-capping: that is Gemma2ForCausalLM's."""
    eps = cfg["rms_norm_eps"]
    x = W["model.embed_tokens.weight"][ids]
    x = x * torch.tensor(cfg["hidden_size"] ** 0.5, dtype=x.dtype)
    positions = torch.arange(ids.shape[0])
    for i in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % i
        window = cfg["sliding_window"] if (i + 1) % 2 else None
        h = rms_norm(x, W[p + "input_layernorm.weight"], eps, True)
        h = attention(cfg, W, p + "self_attn.", h, positions, window,
                      scaling=cfg["query_pre_attn_scalar"] ** -0.5,
                      softcap=cfg.get("attn_logit_softcapping"))
        x = x + rms_norm(h, W[p + "post_attention_layernorm.weight"], eps, True)
        h = rms_norm(x, W[p + "pre_feedforward_layernorm.weight"], eps, True)
        h = mlp(W, p + "mlp.", h, gelu_tanh)
        x = x + rms_norm(h, W[p + "post_feedforward_layernorm.weight"], eps, True)
    x = rms_norm(x, W["model.norm.weight"], eps, True)
    return pooled_score(cfg, W, x, ids)


def internlm2(cfg, W, ids):
    """InternLM2ForRewardModel: wqkv packs, per kv head, its query heads then
    its key then its value ("b q (h gs d) -> b q h gs d", gs = groups + 2);
    the reward token is appended and v_head reads its hidden state."""
    ids = torch.cat([ids, torch.tensor([cfg.get("reward_token_id", 92527)])])
    heads, kv, hd = dims(cfg)
    groups, n, eps = heads // kv, ids.shape[0], cfg["rms_norm_eps"]
    x = W["model.tok_embeddings.weight"][ids]
    positions = torch.arange(n)
    for i in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % i
        h = rms_norm(x, W[p + "attention_norm.weight"], eps)
        qkv = linear(W, p + "attention.wqkv", h).view(n, kv, groups + 2, hd)
        q = qkv[:, :, :groups, :].reshape(n, heads, hd).transpose(0, 1)
        k = qkv[:, :, -2, :].transpose(0, 1)
        v = qkv[:, :, -1, :].transpose(0, 1)
        x = x + linear(W, p + "attention.wo", attend(cfg, q, k, v, positions, None))
        h = rms_norm(x, W[p + "ffn_norm.weight"], eps)
        f = p + "feed_forward."
        x = x + linear(W, f + "w2", silu(linear(W, f + "w1", h)) * linear(W, f + "w3", h))
    x = rms_norm(x, W["model.norm.weight"], eps)
    return (x @ W["v_head.weight"].T)[-1]


ARMORM_PATTERN = [128009, 128006, 78191, 128007, 271]


def armorm(cfg, W, ids):
    """ArmoRM (LlamaForRewardModelWithGating): regression on the token before
    the first pad (else the last), a gating MLP on the token where the last
    eot/assistant-header pattern starts; returns [score, *rewards]."""
    h = llama_hidden(cfg, W, ids, [None] * cfg["num_hidden_layers"])
    n, lst = ids.shape[0], ids.tolist()
    last = (int(torch.eq(ids, cfg["pad_token_id"]).int().argmax(-1)) - 1) % n
    rewards = h[last] @ W["regression_layer.weight"].T
    g = max(j for j in range(n - len(ARMORM_PATTERN) + 1)
            if lst[j:j + len(ARMORM_PATTERN)] == ARMORM_PATTERN)
    x = h[g][None]
    layers = cfg.get("gating_n_hidden", 3) + 1
    for i in range(layers):
        x = linear(W, "gating.layers.%d" % i, x)
        if i < layers - 1:
            x = torch.relu(x)
    gate = torch.softmax(x / cfg.get("gating_temperature", 10), dim=1) * W["gating.logit_scale"][0]
    score = torch.sum(gate * (rewards[None] @ W["reward_transform_matrix"]), dim=1)
    return torch.cat([score, rewards])


FORWARD = {
    "LlamaForRewardModelWithGating": armorm,
    "InternLM2ForRewardModel": internlm2,
    "LlamaForSequenceClassification": llama,
    "MistralForSequenceClassification": mistral,
    "Qwen2ForSequenceClassification": qwen2,
    "Qwen3ForSequenceClassification": qwen3,
    "Gemma2ForSequenceClassification": gemma2,
}


def score(cfg, W, ids):
    with torch.no_grad():
        return FORWARD[cfg["architectures"][0]](cfg, W, torch.tensor(ids, dtype=torch.int64))
