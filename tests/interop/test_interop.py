"""Interop with the reference implementations: models and adapters saved by Hugging Face
transformers and peft load in RecAlign Studio with the same logits, and an adapter exported by
RecAlign Studio loads in peft with the same logits, and the MMLU scorer's per-choice
log-likelihoods (`recalign general --samples`) match transformers' on the same prompts, which the
test renders and tokenizes itself (sentencepiece). Run by scripts/interop-test.sh (CTest
`interop_hf`) in a project-local virtual environment: Debian's python3-torch 1.13 with
transformers 4.36.2 and peft 0.5.0, the versions RecLM-gen pins.

usage: python test_interop.py RECALIGN_EXECUTABLE WORK_DIR
"""
import csv
import json
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")

import sentencepiece as spm  # noqa: E402
import torch  # noqa: E402
from peft import LoraConfig, PeftModel, get_peft_model  # noqa: E402
from transformers import LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM  # noqa: E402

RECALIGN, WORK = sys.argv[1], sys.argv[2]
SHARED = Path(__file__).resolve().parents[2].parent / "shared"  # ../shared beside the checkout
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

# 4. The MMLU scorer: for each question of the shared five subjects (2-shot, 3 questions each,
# scored in batches of 4, left-padded, the letters' later tokens through the KV cache), the
# prompt is the MMLU paper's (rendered here from the CSV files), its tokens are sentencepiece's,
# each letter's tokens are encode(prompt + " X") past the prompt's (the evaluation harnesses'
# rule), and each log p(" X" | prompt) is transformers' from one unpadded forward.
mmlu = SHARED / "data" / "general" / "mmlu"
tok_file = SHARED / "models" / "stories260K" / "tok512.model"
torch.manual_seed(2)
scorer_model = LlamaForCausalLM(LlamaConfig(
    hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
    vocab_size=512, max_position_embeddings=4096, rms_norm_eps=1e-5, tie_word_embeddings=False,
    initializer_range=0.3, bos_token_id=1, eos_token_id=2)).eval()  # wide weights: the letters differ
scorer_dir = f"{WORK}/mmlu-model"
scorer_model.save_pretrained(scorer_dir, safe_serialization=True)
shutil.copy(tok_file, f"{scorer_dir}/tokenizer.model")
samples_file = f"{WORK}/mmlu-samples.jsonl"
subprocess.run([RECALIGN, "general", "--model", scorer_dir, "--mmlu", str(mmlu), "--mmlu-k-shot", "2",
                "--limit", "3", "--batch", "4", "--samples", samples_file], check=True, capture_output=True, text=True)
sp = spm.SentencePieceProcessor(model_file=str(tok_file))


def mmlu_rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return [[field.strip() for field in row] for row in csv.reader(f) if row]


def mmlu_block(row, with_answer):
    text = row[0] + "".join(f"\n{letter}. {choice}" for letter, choice in zip("ABCD", row[1:5])) + "\nAnswer:"
    return text + (f" {row[5].upper()}\n\n" if with_answer else "")


worst, scored, agree = 0.0, 0, 0
for line in open(samples_file, encoding="utf-8"):
    s = json.loads(line)
    d = s["details"]
    subject = d["subject"]
    dev = mmlu_rows(mmlu / "dev" / f"{subject}_dev.csv")
    test = mmlu_rows(mmlu / "test" / f"{subject}_test.csv")
    prompt = (f"The following are multiple choice questions (with answers) about {subject.replace('_', ' ')}.\n\n"
              + "".join(mmlu_block(r, True) for r in dev[:2]) + mmlu_block(test[s["index"] - 2], False))
    name = f"MMLU {subject} question {s['index'] - 2}"
    if s["prompt"] != prompt or d["truncated"] or d["shots"] != 2:
        failures.append(f"{name}: prompt")
        continue
    ids = [sp.bos_id()] + sp.encode(prompt)
    if d["prompt_ids"] != ids:
        failures.append(f"{name}: prompt tokens")
        continue
    lls = []
    for choice, letter in zip(d["items"], "ABCD"):
        full = sp.encode(prompt + " " + letter)
        continuation = full[len(ids) - 1:]
        if full[:len(ids) - 1] != ids[1:] or choice["ids"] != continuation:
            failures.append(f"{name}: tokens of ' {letter}'")
            continue
        with torch.no_grad():
            logp = torch.log_softmax(scorer_model(torch.tensor([ids + continuation])).logits[0].double(), -1)
        ll = sum(logp[len(ids) - 1 + j, t].item() for j, t in enumerate(continuation))
        worst = max(worst, abs(ll - choice["loglik"]))
        lls.append(ll)
    scored += 1
    agree += len(lls) == 4 and "ABCD"[max(range(4), key=lambda c: lls[c])] == d["predicted"]
ok = scored == 15 and worst <= TOLERANCE and agree == scored
print(f"{'ok  ' if ok else 'FAIL'} MMLU scorer: {scored} questions of 5 subjects, prompts and tokens as rendered "
      f"here, per-choice log-likelihoods within {worst:.2e} of transformers', {agree} predictions agree")
if not ok:
    failures.append("MMLU scorer")

if failures:
    print("interop failures: " + ", ".join(failures))
    sys.exit(1)
print("interop: all checks passed")
