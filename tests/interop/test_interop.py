"""Interop with the reference implementations: models and adapters saved by Hugging Face
transformers and peft load in RecAlign Studio with the same logits, and an adapter exported by
RecAlign Studio loads in peft with the same logits. Run by scripts/interop-test.sh (CTest
`interop_hf`) in a project-local virtual environment: Debian's python3-torch 1.13 with
transformers 4.36.2 and peft 0.5.0, the versions RecLM-gen pins.

usage: python test_interop.py RECALIGN_EXECUTABLE WORK_DIR
"""
import json
import subprocess
import sys
import warnings

warnings.filterwarnings("ignore")

import torch  # noqa: E402
from peft import LoraConfig, PeftModel, get_peft_model  # noqa: E402
from transformers import LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM  # noqa: E402

RECALIGN, WORK = sys.argv[1], sys.argv[2]
TOKENS = [1, 17, 5, 60, 33, 2, 81, 9, 44, 12, 3]
TOLERANCE = 1e-4
failures = []


def ours(model_dir, adapter=None, export=None):
    cmd = [RECALIGN, "logits", "--model", model_dir, "--tokens", ",".join(map(str, TOKENS))]
    if adapter:
        cmd += ["--adapter", adapter]
    if export:
        cmd += ["--export-adapter", export]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return torch.tensor(json.loads(out)["logits"])


def theirs(model):
    with torch.no_grad():
        return model(torch.tensor([TOKENS])).logits[0].float()


def check(name, a, b):
    diff = (a - b).abs().max().item()
    scale = b.abs().max().item()
    ok = a.shape == b.shape and diff <= TOLERANCE
    print(f"{'ok  ' if ok else 'FAIL'} {name}: max |difference| {diff:.2e} (logits up to {scale:.2f})")
    if not ok:
        failures.append(name)


def small(kind, **extra):
    common = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, vocab_size=97, max_position_embeddings=128, rms_norm_eps=1e-5,
                  tie_word_embeddings=False, **extra)
    torch.manual_seed(0)
    if kind == "mistral":
        return MistralForCausalLM(MistralConfig(sliding_window=64, **common)).eval()
    return LlamaForCausalLM(LlamaConfig(**common)).eval()


# 1. Models saved by transformers: grouped-query attention, untied head; Llama, Llama with linear
# rope scaling, Mistral.
cases = [("llama", small("llama")),
         ("llama-rope-linear", small("llama", rope_scaling={"type": "linear", "factor": 2.0})),
         ("mistral", small("mistral"))]
for name, model in cases:
    path = f"{WORK}/{name}"
    model.save_pretrained(path, safe_serialization=True)
    check(f"{name} saved by transformers", ours(path), theirs(model))

# 2. A LoRA adapter saved by peft, with nonzero B (peft starts B at zero, which shifts nothing).
base_dir = f"{WORK}/llama"
base = LlamaForCausalLM.from_pretrained(base_dir).eval()
lora = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=["q_proj", "v_proj", "down_proj"])
peft_model = get_peft_model(base, lora)
torch.manual_seed(1)
with torch.no_grad():
    for n, p in peft_model.named_parameters():
        if "lora_" in n:
            p.copy_(torch.randn_like(p) * 0.2)
peft_model.eval()
adapter = f"{WORK}/peft-adapter"
peft_model.save_pretrained(adapter, safe_serialization=True)  # peft 0.5 defaults to .bin
with_adapter = theirs(peft_model)
shift = (with_adapter - ours(base_dir)).abs().max().item()
print(f"{'ok  ' if shift > 1e-2 else 'FAIL'} the adapter shifts the logits by up to {shift:.3f}")
if shift <= 1e-2:
    failures.append("adapter shift")
exported = f"{WORK}/recalign-adapter"
check("peft adapter loaded by RecAlign", ours(base_dir, adapter, exported), with_adapter)

# 3. The adapter exported by RecAlign's writer loads in peft with the same logits.
fresh = LlamaForCausalLM.from_pretrained(base_dir).eval()
again = PeftModel.from_pretrained(fresh, exported).eval()
check("RecAlign-exported adapter loaded by peft", theirs(again), with_adapter)

if failures:
    print("interop failures: " + ", ".join(failures))
    sys.exit(1)
print("interop: all checks passed")
