#!/usr/bin/env python3
"""Train a CondenseNet on CIFAR-10 (development tool; the product never runs Python).

Recipe (paper, shortened for CPUs): SGD + Nesterov momentum 0.9, weight decay 1e-4,
cosine learning rate from 0.1 per iteration, group-lasso lambda 1e-5 on the learned group
convolutions, condensing stages spread over the first half of training, random crop (pad 4)
+ horizontal flip. Checkpoints have the official layout (epoch, arch, state_dict with
'module.' keys and _mask/_count/_stage buffers, best_prec1, optimizer), so `cnm-convert`
reads them like a user's file. Resumable: rerun the same command and it continues from
OUT/checkpoint.pth (or, on a fresh checkout, from OUT/resume.pt, its committed compact copy:
compact.py); with --stop-after it stops within 100 iterations of the time, mid-epoch if need
be, and the resumed run continues that epoch bit for bit (each iteration's augmentation has its
own seed; new runs' initial weights come from --seed).

  python3 tools/train/train.py --out tools/train/run-c86 --epochs 40

Phase 2 (a warm restart, SGDR-style, when one sitting's CPU time ended the first cycle early):
  python3 tools/train/train.py --out tools/train/run-c86-p2 --init tools/train/run-c86/condensenet-cifar10-train.pth \
      --epochs 7 --lr 0.05

From the shipped fp32 model when the training checkpoint is gone (tools/train/from_cnm.py), with
stochastic weight averaging instead of a cosine cycle, here with Cutout as a further regulariser:
  python3 tools/train/from_cnm.py models/condensenet86-cifar10.cnm -o /tmp/swa/init.pth
  python3 tools/train/train.py --out /tmp/swa --init /tmp/swa/init.pth \
      --epochs 12 --swa-lr 0.01 --cutout 16 --average-only --channels-last

Speed per iteration (batch 64, 2 threads, CondenseNet-86): on an AVX2-only Zen 1 EPYC, fp32 NCHW
4.5 s, --channels-last 2.5 s (2.2-2.4 s; 1.04-1.09 s with PyTorch 2.13 in sitting 16), --fast 15 s (bfloat16 emulated); on a Zen 5 with AVX-512 BF16,
fp32 NCHW 1.3 s, --fast 0.47 s. Computing the fixed-mask 1x1 convs condensed (gather + grouped
conv + shuffle, 1/4 of their multiply-adds) was tried and was no faster on the Zen 1: the time
goes to the grouped 3x3 convs' backward and the memory-bound BatchNorm/ReLU/concatenation.
torch.compile (inductor, PyTorch 2.15, channels-last fp32) was no faster on the Zen 1 either: 3.4-3.7 s an
iteration against 3.0-3.4 s eager in the same 6-iteration test, after 220 s of compiling.
"""
import argparse
import copy
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import compact  # noqa: E402
import data  # noqa: E402
from condensenet import LearnedGroupConv, from_recipe  # noqa: E402


def parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "../../../shared/data/cifar10"))
    p.add_argument("--out", required=True)
    p.add_argument("--stages", default="14,14,14")
    p.add_argument("--growth", default="8,16,32")
    p.add_argument("--groups", type=int, default=4)
    p.add_argument("--condense-factor", type=int, default=4)
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--lasso", type=float, default=1e-5)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--init", help="phase 2: start from this finished checkpoint's weights (masks fixed, "
                   "all condensing done) with a fresh optimiser and a new cosine cycle from --lr")
    p.add_argument("--swa-lr", type=float, default=0,
                   help="with --init: stochastic weight averaging (Izmailov et al. 2018) instead of a cosine cycle: a "
                   "constant learning rate, the weights averaged every --swa-every iterations, BatchNorm statistics "
                   "measured again for the average; the average is the result")
    p.add_argument("--swa-every", type=int, default=100)
    p.add_argument("--average-only", action="store_true",
                   help="with --swa-lr: after each epoch evaluate only the average on the test set, not the last "
                   "iterate too (saves a 10k-image pass an epoch, about 3.5 minutes on CondenseNet-86 here)")
    p.add_argument("--cutout", type=int, default=0,
                   help="Cutout (DeVries & Taylor 2017): after crop and flip, fill a random SIZE x SIZE square "
                   "(centre anywhere in the image, clipped at the border) with the dataset mean; 16 is the paper's "
                   "size for CIFAR-10")
    p.add_argument("--stop-after", type=float, default=0,
                   help="stop (resumably) after this many hours: at the next multiple of 100 iterations, in the middle "
                   "of an epoch if need be (the checkpoint then holds the iteration, and a resumed run continues the "
                   "same epoch with the same batches and augmentation)")
    p.add_argument("--test-every", type=int, default=1,
                   help="test the last iterate after every N-th epoch and the last one (a 10k-image pass takes about "
                   "3.5 minutes on CondenseNet-86 here)")
    p.add_argument("--seed", type=int, default=0, help="seed of a new run's initial weights")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--channels-last", action="store_true",
                   help="channels-last (NHWC) tensors, fp32: 1.8x faster per iteration than NCHW on the 2-core Zen 1 VM "
                   "(AVX2; oneDNN's grouped 3x3 conv backward is slow in NCHW)")
    p.add_argument("--fast", action="store_true",
                   help="channels-last tensors and bfloat16 autocast for the forward pass (fp32 master weights, "
                   "loss and optimiser; evaluation stays fp32): 2.7x faster per iteration on the 2-core Zen 5 VM "
                   "(AVX-512 BF16), 3.3x SLOWER than fp32 on a Zen 1 VM (AVX2 only: bfloat16 is emulated)")
    args = p.parse_args()
    args.channels_last = args.channels_last or args.fast
    return args


def to_tensor(x_uint8, device, channels_last=False):
    x = torch.from_numpy(x_uint8).to(device).permute(0, 3, 1, 2).float().div_(255)
    mean = torch.tensor(data.MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(data.STD, device=device).view(1, 3, 1, 1)
    x = (x - mean) / std
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def augment(x, rng, cutout=0):
    """Random crop 32 from the zero-padded 40x40 image, and horizontal flip; then, with cutout > 0, a
    cutout x cutout square filled with the dataset mean (0 once normalised)."""
    n = x.shape[0]
    padded = np.zeros((n, 40, 40, 3), dtype=np.uint8)
    padded[:, 4:36, 4:36] = x
    dx, dy, flip = rng.integers(0, 9, n), rng.integers(0, 9, n), rng.random(n) < 0.5
    out = np.empty_like(x)
    for i in range(n):
        crop = padded[i, dy[i]:dy[i] + 32, dx[i]:dx[i] + 32]
        out[i] = crop[:, ::-1] if flip[i] else crop
    if cutout:
        mean = np.rint(data.MEAN * 255).astype(np.uint8)
        cy, cx = rng.integers(0, 32, n), rng.integers(0, 32, n)
        for i in range(n):
            y0, x0 = max(cy[i] - cutout // 2, 0), max(cx[i] - cutout // 2, 0)
            out[i, y0:cy[i] + cutout - cutout // 2, x0:cx[i] + cutout - cutout // 2] = mean
    return out


@torch.no_grad()
def evaluate(model, x, y, device, batch=500, channels_last=False):
    model.eval()
    correct = 0
    for i in range(0, len(x), batch):
        logits = model(to_tensor(x[i:i + batch], device, channels_last))
        correct += (logits.argmax(1).cpu().numpy() == y[i:i + batch]).sum()
    model.train()
    return correct / len(x)


@torch.no_grad()
def swa_model(model, avg, x, rng, device, channels_last, fast, images):
    """A copy of the model holding the averaged weights, with BatchNorm running statistics
    measured afresh (cumulative average, train mode) on `images` augmented training images."""
    m = copy.deepcopy(model)
    for name, p in m.named_parameters():
        p.copy_(avg[name])
    idx = rng.permutation(len(x))[:images]
    batches = (to_tensor(augment(x[idx[i:i + 250]], rng), device, channels_last) for i in range(0, len(idx), 250))
    with torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=fast):
        torch.optim.swa_utils.update_bn(batches, m)
    return m


def official_checkpoint(model, epoch, best, optimizer_state, recipe):
    # contiguous (NCHW) tensors whatever the training layout: the file is what the official code writes
    sd = {"module." + k: v.contiguous() for k, v in model.state_dict().items()}
    return {"epoch": epoch, "arch": "condensenet", "state_dict": sd, "best_prec1": best,
            "optimizer": optimizer_state, "recipe": recipe}


def load_official(model, path, device):
    """Load a checkpoint in the official layout (its keys prefixed by DataParallel's 'module.') into model;
    returns the whole checkpoint dict."""
    ck = torch.load(path, map_location=device, weights_only=False)
    load_state(model, ck)
    return ck


def load_state(model, ck):
    """Load an official-layout checkpoint's state_dict (keys prefixed by DataParallel's 'module.')."""
    model.load_state_dict({k.removeprefix("module."): v for k, v in ck["state_dict"].items()})


def main():
    args = parse()
    if args.swa_lr and not args.init:
        sys.exit("--swa-lr averages the weights of a trained model: give it --init")
    if args.average_only and not args.swa_lr:
        sys.exit("--average-only tests only the average of an --swa-lr run: give it --swa-lr")
    if args.test_every < 1:
        sys.exit("--test-every takes a number of epochs, 1 or more")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)  # the initial weights of a new run
    os.makedirs(args.out, exist_ok=True)
    log = open(os.path.join(args.out, "train.log"), "a")

    def say(msg):
        line = time.strftime("%Y-%m-%d %H:%M:%S ") + msg
        print(line, flush=True)
        log.write(line + "\n")
        log.flush()

    xtr, ytr = data.load(os.path.join(args.data, "cifar10-train-jpeg.tar.gz"))
    xte, yte = data.load(os.path.join(args.data, "cifar10-test-jpeg.tar.gz"))
    model = from_recipe(vars(args)).to(args.device)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, nesterov=True, weight_decay=1e-4)
    start, best, seconds, partial = 0, 0.0, 0.0, None
    resume = os.path.join(args.out, "checkpoint.pth")
    packed = os.path.join(args.out, "resume.pt")  # the compact copy a sitting commits (compact.py)
    names = [name for name, _ in model.named_parameters()]
    resumed = os.path.exists(resume) or os.path.exists(packed)
    if resumed:
        if os.path.exists(resume):
            ck = load_official(model, resume, args.device)
        else:  # a fresh checkout: only the committed compact checkpoint is there
            ck = compact.unpack(torch.load(packed, map_location=args.device, weights_only=False), names)
            load_state(model, ck)
            say(f"unpacked {packed}")
        opt.load_state_dict(ck["optimizer"])
        start, best, seconds = ck["epoch"], ck["best_prec1"], ck.get("seconds", 0.0)
        swa = ck.get("swa")
        partial = ck.get("partial")  # {iteration, loss_sum, seen, seconds} of a checkpoint saved mid-epoch
        tested = f"best {best:.4f}, " if best else ""  # an --average-only run never tests the iterate
        where = f"epoch {start + 1} iteration {partial['iteration']}" if partial else f"epoch {start}"
        say(f"resumed at {where} ({tested}{seconds / 3600:.2f} h so far)")
    elif args.init:
        ck = load_official(model, args.init, args.device)
        say(f"phase 2 from {args.init} (its test top-1 {ck['best_prec1']:.4f}): {json.dumps(vars(args))}")
    else:
        say(f"new run: {json.dumps(vars(args))}, {sum(p.numel() for p in model.parameters())} parameters")

    if args.swa_lr and not resumed:
        swa = {"n": 0, "params": {k: v.detach().clone() for k, v in model.named_parameters()}}
    elif not args.swa_lr:
        swa = None
    eval_iterate = swa is None or not args.average_only  # test the last iterate as well as the average

    def save(epoch, partial=None):
        ck = official_checkpoint(model, epoch, best, opt.state_dict(), vars(args))
        ck["seconds"] = seconds + (partial["seconds"] if partial else 0.0)
        ck["swa"] = swa
        ck["partial"] = partial
        compact.save_atomic(ck, resume)
        compact.save_atomic(compact.pack(ck, names), packed)

    def top1(acc):
        return "not evaluated" if acc is None else f"{acc:.4f}"

    steps_per_epoch = len(xtr) // args.batch
    total_steps = args.epochs * steps_per_epoch
    t_session = time.time()

    def out_of_time():
        return args.stop_after and time.time() - t_session > args.stop_after * 3600

    acc = None  # the last iterate's test top-1, once an epoch has run
    for epoch in range(start, args.epochs):
        rng = np.random.default_rng(1000 + epoch)
        perm = rng.permutation(len(xtr))
        first = partial["iteration"] if partial and epoch == start else 0
        if first:  # continue a checkpoint saved mid-epoch: same permutation, same per-iteration augmentation
            seconds -= partial["seconds"]  # it counted them already
            t0, loss_sum, seen = time.time() - partial["seconds"], partial["loss_sum"], partial["seen"]
        else:
            t0, loss_sum, seen = time.time(), 0.0, 0
        for it in range(first, steps_per_epoch):
            step = epoch * steps_per_epoch + it
            # phase 2 starts condensed: the stage never moves backwards, so progress 1 keeps it there
            LearnedGroupConv.progress = 1.0 if args.init else step / total_steps
            lr = args.swa_lr or 0.5 * args.lr * (1 + math.cos(math.pi * step / total_steps))
            for g in opt.param_groups:
                g["lr"] = lr
            idx = perm[it * args.batch:(it + 1) * args.batch]
            aug_rng = np.random.default_rng([1000 + epoch, it])  # per iteration, so that a run can resume mid-epoch
            x = to_tensor(augment(xtr[idx], aug_rng, args.cutout), args.device, args.channels_last)
            y = torch.from_numpy(ytr[idx]).to(args.device)
            with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=args.fast):
                out = model(x)
            loss = F.cross_entropy(out.float(), y)
            if args.lasso > 0:
                loss = loss + args.lasso * sum(m.lasso_loss() for m in model.learned_convs())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if swa is not None and ((it + 1) % args.swa_every == 0 or it + 1 == steps_per_epoch):
                with torch.no_grad():
                    swa["n"] += 1
                    for name, p in model.named_parameters():
                        swa["params"][name].add_((p.detach() - swa["params"][name]) / swa["n"])
            loss_sum += loss.item() * len(idx)
            seen += len(idx)
            if it % 100 == 0:
                print(f"  epoch {epoch + 1} iter {it}/{steps_per_epoch} loss {loss_sum / seen:.4f} lr {lr:.4f} "
                      f"{(time.time() - t0) / (it + 1):.3f} s/iter", flush=True)
            if (it + 1) % 100 == 0 and it + 1 < steps_per_epoch and out_of_time():
                save(epoch, {"iteration": it + 1, "loss_sum": loss_sum, "seen": seen, "seconds": time.time() - t0})
                say(f"stopping for now in epoch {epoch + 1} after iteration {it + 1}/{steps_per_epoch}, loss "
                    f"{loss_sum / seen:.4f}, {(time.time() - t0) / (it + 1):.2f} s/iter "
                    f"(resumable, {(seconds + time.time() - t0) / 3600:.2f} h of training so far)")
                return
        seconds += time.time() - t0
        acc = None
        if eval_iterate and ((epoch + 1) % args.test_every == 0 or epoch + 1 == args.epochs):
            acc = evaluate(model, xte, yte, args.device, channels_last=args.channels_last)
            best = max(best, acc)
        stage = int(model.learned_convs()[0]._stage.item())
        swa_msg = ""
        if swa is not None:
            avg = swa_model(model, swa["params"], xtr, rng, args.device, args.channels_last, args.fast, 5000)
            swa_msg = f", averaged ({swa['n']} snapshots) {evaluate(avg, xte, yte, args.device, channels_last=args.channels_last):.4f}"
        say(f"epoch {epoch + 1}/{args.epochs}: loss {loss_sum / seen:.4f}, test top-1 {top1(acc)}{swa_msg}, "
            f"condensing stage {stage}, {time.time() - t0:.0f} s")
        save(epoch + 1)
        if out_of_time():
            say("stopping for now (resumable)")
            return
    if acc is None and eval_iterate:  # resumed after the last epoch
        acc = evaluate(model, xte, yte, args.device, channels_last=args.channels_last)
    if swa is not None:
        last = acc
        model = swa_model(model, swa["params"], xtr, np.random.default_rng(99), args.device, args.channels_last, args.fast, 20000)
        acc = best = evaluate(model, xte, yte, args.device, channels_last=args.channels_last)  # the file's top-1 is the average's
        say(f"averaged {swa['n']} snapshots; BatchNorm statistics from 20000 training images "
            f"(the last iterate alone: test top-1 {top1(last)})")
    final = official_checkpoint(model, args.epochs, best, {"state": {}, "param_groups": opt.state_dict()["param_groups"]},
                                vars(args))
    torch.save(final, os.path.join(args.out, "condensenet-cifar10-train.pth"))
    say(f"done: test top-1 {acc:.4f} after {seconds / 3600:.2f} h of training")


if __name__ == "__main__":
    main()
