"""Operator fusion: a bind-time pass over the executor's plan (issue 13).

Memory-bound operators that follow another one cost a pass over an activation-sized array
each; fused, they run while their input is still in cache, or inside the other operator's own
passes.  The pass groups consecutive steps of :class:`mxlite.executor.Executor`'s plan into
one step when the value between them is used by nothing else and is not a graph output:

=================================  ========================================================
group                              what runs
=================================  ========================================================
``BatchNorm -> relu``              training: the statistics pass, then one normalize+relu
                                   write; backward: the relu mask recomputed from the input
                                   inside BatchNorm's two passes (no relu pass);
                                   inference: one scale/shift/relu pass
``Convolution -> relu|sigmoid|     the activation applied to each finished range of output
tanh``                             images right after the convolution computed it (in
                                   cache; relu by the direct kernel's copy-out itself);
                                   backward: the activation's from the output
``FullyConnected -> relu|sigmoid|  the activation applied to the output right after the
tanh``                             GEMM, one operator call fewer each way; relu: with the
                                   bias in one pass, and backward relu's and the bias's
                                   gradients in one pass
``Convolution -> BatchNorm         inference: BatchNorm's scale/shift (and relu) applied to
[-> relu]``                        each finished range of output images; training: the
                                   convolution, then the fused BatchNorm (+ relu)
``Convolution + x`` (elemwise_add) ``x`` added to each finished range of output images
``Convolution + x -> BatchNorm     inference forwards: one step with two outputs, the sum
-> relu``, the sum read again      and the relu's, both written by the convolution's
                                   copy-out; training: ``Convolution + x``, then
                                   ``BatchNorm -> relu`` (batch statistics need the sum)
=================================  ========================================================

The convolution epilogues are :class:`mxlite.kernels.epilogue.Epilogue` objects: the direct
3x3 kernel and the thin-layer Winograd kernel apply them while they write each output row out
of their scratch (the direct kernel the bias too), the other paths call them on each finished
chunk.  The last group is the pre-activation residual
unit's: its sum is read by the next unit's BatchNorm and by its shortcut add.  It forms only
where the sum is no graph output and its other readers run after the relu (the group runs at
the relu's place), and only in the plan of inference forwards: :func:`plan` returns that
beside the training plan, the two sharing every other step (and so its buffers).  A backward
after an inference forward (MXNet allows one) runs that group's parts, recomputed.

A fused inference step keeps BatchNorm's float64 affine while gamma, beta and the moving
statistics hold the same bytes (:class:`mxlite.operator.nn.batch_norm.AffineCache`) and its
epilogue (with the kernel arguments it makes) while its arrays are the same objects.

Results equal the unfused graph's bit for bit (each fused kernel does the same float
operations in the same order; tested against the executor with the switch off).  What a
fast path does not take (float16 data, a channels-last layout) runs the grouped operators one
after the other.  An executor with a monitor callback runs the unfused plan (a monitor sees
every internal output, as MXNet shows it); Gluon's ``create_graph`` replay gets the unfused
steps through :meth:`Fused.expand`.

``MXLITE_FUSION=0`` (read at bind) turns the pass off.
"""

from __future__ import annotations

import numpy as np

from .base import env_switch
from .operator.nn._util import planned_buffer
from .operator.nn.batch_norm import AffineCache

__all__ = ["enabled", "plan"]

_ACTS = ("relu", "sigmoid", "tanh")  # backward from the output alone: an epilogue may drop x
_FAST_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _epilogue_class():
    """:class:`mxlite.kernels.epilogue.Epilogue`, imported on first use (it loads Numba)."""
    global _EPILOGUE, _KEPT
    if _EPILOGUE is None:
        from .kernels.epilogue import Epilogue

        class Kept(Epilogue):
            """An epilogue a fused step reuses from batch to batch (its arrays are the same
            objects): :meth:`args` without a bias kept per image range (the same views)."""

            __slots__ = ("_args",)

            def __init__(self, **kw):
                super().__init__(**kw)
                self._args = {}

            def args(self, bias=None, a=0, b=None, dtype=np.float32):
                if bias is not None:
                    return super().args(bias, a, b, dtype)
                key = (a, b, dtype)
                got = self._args.get(key)
                if got is None:
                    got = self._args[key] = super().args(None, a, b, dtype)
                return got

        _EPILOGUE, _KEPT = Epilogue, Kept
    return _EPILOGUE


_EPILOGUE = _KEPT = None


def enabled() -> bool:
    """Whether executors bound now fuse (environment ``MXLITE_FUSION``, default on)."""
    return env_switch("MXLITE_FUSION")


# ---------------------------------------------------------------------- matching
def _channels_first_conv(step) -> bool:
    from .operator.nn import _layout

    return step.op.name == "Convolution" and not _layout.is_last(step.params.layout)


def _is_act(step, kinds=_ACTS) -> bool:
    return step.op.name == "Activation" and step.params.act_type in kinds


def plan(steps, heads: set, wants: set, stypes: list):
    """``(fused, inference)``: the fused plan of ``steps`` (a list mixing the original steps
    and fused ones; None when nothing fuses) and the plan of inference forwards (None: the
    same), which also groups each residual sum with the BatchNorm + relu reading it.  The two
    share every step they have in common.  ``heads``: the graph's output slots; ``wants``:
    slots whose gradient is needed; ``stypes``: each slot's storage type (sparse values never
    fuse)."""
    uses: dict[int, int] = {}
    consumer: dict[int, object] = {}
    readers: dict[int, list] = {}
    pos = {id(st): i for i, st in enumerate(steps)}
    for st in steps:
        for s in st.in_slots:
            uses[s] = uses.get(s, 0) + 1
            consumer[s] = st
            readers.setdefault(s, []).append(st)

    def single(step):
        """The one consumer of ``step``'s first output, when that output (and every other
        output of it) is an internal value nobody else sees."""
        out = step.out_slots
        if step.sparse or step.loss or not out or any(
                s in heads or stypes[s] != "default" for s in out):
            return None
        if uses.get(out[0]) != 1 or any(uses.get(s) for s in out[1:]):
            return None
        nxt = consumer[out[0]]
        return None if nxt.sparse or nxt.loss or id(nxt) in taken else nxt

    taken: set[int] = set()
    groups: dict[int, tuple] = {}  # id(last step) -> the group's steps, visible parts
    for st in steps:
        if id(st) in taken or st.sparse:
            continue
        chain = None
        nxt = single(st)
        if nxt is None:
            continue
        s = st.out_slots[0]
        if st.op.name == "BatchNorm" and _is_act(nxt, ("relu",)):
            chain = [st, nxt]
        elif st.op.name == "FullyConnected" and _is_act(nxt):
            chain = [st, nxt]
        elif _channels_first_conv(st):
            if _is_act(nxt):
                chain = [st, nxt]
            elif nxt.op.name == "BatchNorm" and nxt.in_slots[0] == s and nxt.params.axis == 1:
                chain = [st, nxt]
                after = single(nxt)
                if after is not None and _is_act(after, ("relu",)):
                    chain.append(after)
            elif nxt.op.name == "elemwise_add" and nxt.in_slots[0] != nxt.in_slots[1]:
                chain = [st, nxt]
        if chain is None:
            continue
        taken.update(id(c) for c in chain)
        # at the place of its last part: every input of every part is computed by then
        # (the addend of ``conv + x`` may come after the convolution in topological order)
        groups[id(chain[-1])] = (chain, None)
    if not groups:
        return None, None

    def residual_bn_relu(add):
        """``[BatchNorm, relu]`` reading the sum of ``add`` (which may have other readers),
        ungrouped or grouped just with each other: the sum is no head and its other readers
        run after the relu (the group runs there)."""
        s = add.out_slots[0]
        if s in heads or stypes[s] != "default":
            return None
        for bn in readers.get(s, ()):
            if (bn.op.name != "BatchNorm" or bn.in_slots[0] != s or bn.in_slots.count(s) != 1
                    or bn.params.axis != 1 or bn.sparse):
                continue
            out = bn.out_slots
            if any(o in heads or stypes[o] != "default" for o in out) or uses.get(out[0]) != 1 \
                    or any(uses.get(o) for o in out[1:]):
                continue
            act = consumer[out[0]]
            if not _is_act(act, ("relu",)) or act.sparse or act.loss:
                continue
            pair = groups.get(id(act))
            if (id(bn) in taken or id(act) in taken) and (pair is None or pair[0] != [bn, act]):
                continue
            if all(r is bn or pos[id(r)] > pos[id(act)] for r in readers[s]):
                return [bn, act]
        return None

    infer = dict(groups)
    for key, (chain, _) in groups.items():
        if [c.op.name for c in chain] != ["Convolution", "elemwise_add"]:
            continue
        more = residual_bn_relu(chain[1])
        if more:  # the sum is an output of the group too
            del infer[key]
            infer[id(more[-1])] = (chain + more, (1, 3))
    from .executor import _Step

    made: dict[tuple, object] = {}

    def build(groups):
        inside = {id(c) for chain, _ in groups.values() for c in chain}
        fused = []
        for st in steps:
            if id(st) in groups:
                chain, visible = groups[id(st)]
                key = tuple(id(c) for c in chain)
                if key not in made:
                    made[key] = _fused_step(_Step, chain, visible, heads, wants)
                fused.append(made[key])
            elif id(st) not in inside:
                fused.append(st)
        return fused

    fused = build(groups)
    if len(infer) == len(groups) and all(infer[k] is groups.get(k) for k in infer):
        return fused, None
    inference = build(infer)
    for chain, visible in infer.values():
        if visible is None:
            continue
        # the residual group's outputs and those of the training groups it replaces (the
        # sum of ``conv + x``, the output of ``BatchNorm -> relu``) share their arrays: one
        # plan runs at a time
        both = made[tuple(id(c) for c in chain)]
        first, second = (made.get(tuple(id(c) for c in part)) for part in (chain[:2], chain[2:]))
        both.op.twins = [(first, 0), None if second is None else (second, 0)]
        first.op.twins = [(both, 0)]
        if second is not None:
            second.op.twins = [(both, 1)]
    return fused, inference


def _fused_step(step_cls, parts, visible, heads, wants):
    """One step of the executor's plan running ``parts`` (each consuming the previous one's
    first output); its outputs: the first output of each part in ``visible`` (None: the
    last part's outputs), the last part's all."""
    wires, in_slots, aux_idx, aux_at, direct = [], [], [], [0], []
    for k, part in enumerate(parts):
        w = []
        for j, s in enumerate(part.in_slots):
            if k > 0 and s == parts[k - 1].out_slots[0]:
                w.append(-1)  # the previous part's output
                continue
            w.append(len(in_slots))
            in_slots.append(s)
            direct.append(part.direct[j] if part.direct is not None else None)
        wires.append(w)
        aux_idx.extend(part.aux_idx)
        aux_at.append(len(aux_idx))
    last = parts[-1]
    visible = (len(parts) - 1,) if visible is None else visible
    out_slots = [parts[k].out_slots[0] for k in visible[:-1]] + list(last.out_slots)
    step = step_cls.__new__(step_cls)
    step_cls.__init__(step, last.node, in_slots, aux_idx, out_slots)
    step.op = Fused(parts, wires, aux_at, visible)
    step.params = None
    step.name = "+".join(p.name for p in parts)
    step.parts = parts
    step.grad_needed = parts[0].grad_needed or any(p.grad_needed for p in parts)
    step.need = [s in wants for s in in_slots]
    step.direct = direct if any(d is not None for d in direct) else None
    step.keeps_outputs = not heads.intersection(step.out_slots)
    return step


# ---------------------------------------------------------------------- the fused operator
class Fused:
    """The operator of a fused step: ``forward`` / ``backward`` with the executor's operator
    contract (``out``, ``gout``, ``need``), over the concatenated external inputs of its
    parts (``wires[k][j]``: the position of part ``k``'s input ``j`` there, -1 for the
    previous part's output) and their concatenated auxiliary states (part ``k``'s are
    ``aux[aux_at[k]:aux_at[k + 1]]``)."""

    name = "_fused"
    sparse_inputs = False
    skips_grads = True
    writes_outputs = True
    writes_grads = True
    differentiable = True

    def __init__(self, parts, wires, aux_at, visible=None):
        self.parts = parts
        self.wires = wires
        self.aux_at = aux_at
        #: the parts whose first output is an output of the fused step, in order
        self.visible = (len(parts) - 1,) if visible is None else tuple(visible)
        self.kinds = tuple(p.op.name for p in parts)
        self._mid = None  # the convolution's output under training (reused across batches)
        self._gmid = None  # gradient buffers of the internal values, per part
        #: per output, ``(step, k)``: a step of the other plan whose output ``k`` (once it
        #: ran) this step's output may be written into (:func:`plan`); None: none
        self.twins = None
        #: BatchNorm's inference affine, kept while its parameters are unchanged
        self._affine = AffineCache()
        self._epi = None  # (its arrays, the epilogue of the last forward)

    def is_loss(self, p):
        return False

    # -------------------------------------------------------------- helpers
    def _ins(self, k, ins, prev):
        return [prev if w < 0 else ins[w] for w in self.wires[k]]

    def _aux(self, k, aux):
        return aux[self.aux_at[k]:self.aux_at[k + 1]]

    def _gout(self, k, gout):
        """Part ``k``'s gradient buffers: the executor's for external inputs, the fused op's
        own (kept from the previous batch) for the internal one."""
        if gout is None:
            return None
        mine = self._gmid[k] if self._gmid is not None else None
        return [mine if w < 0 else gout[w] for w in self.wires[k]]

    def _keep_gmid(self, k, g):
        if self._gmid is None:
            self._gmid = [None] * len(self.parts)
        self._gmid[k] = g if isinstance(g, np.ndarray) else None

    def _epilogue(self, scale=None, shift=None, relu=False, addend=None, out2=None):
        """The convolution's epilogue: the last forward's while its arrays are the same
        objects (BatchNorm's affine kept by :class:`AffineCache`, the executor's buffers),
        so that its :meth:`~mxlite.kernels.epilogue.Epilogue.args` are kept too."""
        arrays = (scale, shift, addend, out2)
        kept = self._epi
        if kept is not None and kept[1].relu == relu and all(
                x is y for x, y in zip(kept[0], arrays, strict=True)):
            return kept[1]
        _epilogue_class()
        epi = _KEPT(scale=scale, shift=shift, relu=relu, addend=addend, out2=out2)
        # kept only when it holds the arrays themselves (a non-contiguous addend is copied)
        if epi.scale is scale and epi.shift is shift and epi.addend is addend:
            self._epi = (arrays, epi)
        return epi

    def _fast(self, ins) -> bool:
        for x in ins:
            if x.dtype not in _FAST_DTYPES:
                return False
        return True

    # -------------------------------------------------------------- forward
    def forward(self, p, ins, aux, is_train, out=None):
        kinds = self.kinds
        if out is None and self.twins is not None:
            out = [None if t is None or not t[0].obufs else t[0].obufs[t[1]]
                   for t in self.twins]
        if not self._fast(ins):
            return self._chain_forward(ins, aux, is_train)
        if kinds == ("BatchNorm", "Activation"):
            bn = self.parts[0]
            outs, saved = bn.op.forward(bn.params, ins, aux, is_train, out=out, relu=True)
            return outs[:1], ("bn_relu", saved)
        conv = self.parts[0]
        cins = self._ins(0, ins, None)
        if kinds == ("FullyConnected", "Activation"):
            if self.parts[1].params.act_type == "relu":  # bias and relu in one pass
                outs, saved = conv.op.forward(conv.params, cins, [], is_train, out=out,
                                              relu=True)
                return outs, ("fc_relu", saved)
            outs, saved = conv.op.forward(conv.params, cins, [], is_train, out=out)
            act = self.parts[1]  # in place on the (small, still cached) output
            act.op.forward(act.params, outs, [], is_train, out=outs)
            return outs, ("conv_act", saved)
        if kinds == ("Convolution", "Activation"):
            from .operator.nn import _activation_kernels as ak

            act_type = self.parts[1].params.act_type
            kind = ak.KINDS[act_type]

            def post(y, a, b):  # sigmoid, tanh: one call per element whichever pass
                flat = y[a:b].reshape(-1)
                ak.forward(kind, flat, 0.0, flat, serial=True)

            epi = self._epilogue(relu=True) if act_type == "relu" else post
            outs, saved = conv.op.forward(conv.params, cins, [], is_train, out=out, post=epi)
            return outs, ("conv_act", saved)
        if kinds[:2] == ("Convolution", "elemwise_add"):
            other = ins[max(self.wires[1])]  # the addend (the other wire is the convolution)
            if other.dtype != cins[0].dtype:
                return self._chain_forward(ins, aux, is_train)
            if len(kinds) == 4:
                return self._residual_forward(cins, other, ins, aux, is_train, out)
            outs, saved = conv.op.forward(conv.params, cins, [], is_train, out=out,
                                          post=self._epilogue(addend=other))
            return outs, ("conv_add", saved)
        # Convolution -> BatchNorm [-> relu]
        bn = self.parts[1]
        relu = len(self.parts) == 3
        bins = self._ins(1, ins, None)
        baux = self._aux(1, aux)
        if is_train and not bn.params.use_global_stats:
            mid = self._mid if out is not None else None
            couts, csaved = conv.op.forward(conv.params, cins, [], is_train, out=mid)
            self._mid = couts
            bins[0] = couts[0]
            outs, bsaved = bn.op.forward(bn.params, bins, baux, is_train, out=out, relu=relu)
            return outs[:1], ("conv_bn", csaved, couts[0], bsaved)
        mean, invstd, scale, shift = self._affine.get(bn.op, bn.params, bins, baux)
        outs, csaved = conv.op.forward(conv.params, cins, [], is_train, out=out,
                                       post=self._epilogue(scale=scale, shift=shift,
                                                           relu=relu))
        return outs, ("conv_bn", csaved, None, (mean, invstd, scale, False))

    def _residual_forward(self, cins, other, ins, aux, is_train, out):
        """``Convolution + other -> BatchNorm -> relu`` (the plan of inference forwards): the
        sum and the relu's output, both written by the convolution's copy-out.  (Batch
        statistics, which need the whole sum first: the parts one by one.)"""
        conv, bn = self.parts[0], self.parts[2]
        if is_train and not bn.params.use_global_stats:
            return self._chain_forward(ins, aux, is_train)
        scale, shift = self._affine.get(bn.op, bn.params, self._ins(2, ins, None),
                                        self._aux(2, aux))[2:]
        second = planned_buffer(out, 1, other.shape, other.dtype)
        (total,), _ = conv.op.forward(conv.params, cins, [], is_train,
                                      out=None if out is None else out[:1],
                                      post=self._epilogue(scale, shift, True, other, second))
        return [total, second], ("residual", bool(is_train))

    def _chain_forward(self, ins, aux, is_train, keep_aux=True):
        """The parts one after the other (their own operators, every value kept)."""
        records, prev = [], None
        for k, part in enumerate(self.parts):
            pins = self._ins(k, ins, prev)
            paux = self._aux(k, aux) if keep_aux else [a.copy() for a in self._aux(k, aux)]
            outs, sv = part.op.forward(part.params, pins, paux, is_train)
            records.append((pins, outs, sv))
            prev = outs[0]
        return [records[k][1][0] for k in self.visible], ("chain", records)

    def expand(self, ins, aux, is_train):
        """``(inputs, outputs, saved)`` of each part, as the unfused plan would have them after
        the same forward (recomputed: the parts are deterministic; the auxiliary states are
        left as they are)."""
        return self._chain_forward(ins, aux, is_train, keep_aux=False)[1][1]

    # -------------------------------------------------------------- backward
    @property
    def accumulates(self) -> bool:
        """Whether :meth:`backward` takes ``acc=(prev, buf)`` for its first input: the sum of
        that input's gradients goes into ``buf`` inside BatchNorm's second pass (the executor's
        sum for a value read twice, a residual connection's, without a pass of its own)."""
        return self.kinds == ("BatchNorm", "Activation")

    def backward(self, p, out_grads, ins, outputs, aux, saved, need=None, gout=None, acc=None):
        tag = saved[0]
        if acc is not None and tag != "bn_relu":  # (float16: the parts ran one by one)
            grads = self.backward(p, out_grads, ins, outputs, aux, saved, need, gout)
            prev, buf = acc
            np.add(prev, grads[0], out=buf)
            grads[0] = buf
            return grads
        if need is None:
            need = [True] * len(ins)
        if tag == "residual":  # (a backward after an inference forward: rare) the parts
            records = self._chain_forward(ins, aux, saved[1], keep_aux=False)[1][1]
            return self._chain_backward(out_grads, aux, records, need, gout)
        if tag == "chain":
            return self._chain_backward(out_grads, aux, saved[1], need, gout)
        dy, y = out_grads[0], outputs[0]
        grads = [None] * len(ins)
        if tag == "bn_relu":
            bn = self.parts[0]
            return bn.op.backward(bn.params, [dy], ins, None, aux, saved[1],
                                  gout=gout, relu=True, acc=acc)
        conv = self.parts[0]
        cins = self._ins(0, ins, None)
        ncin = len(cins)
        if tag == "fc_relu":  # relu's and the bias's gradients in one pass, then the GEMMs
            if not conv.grad_needed:
                return grads
            cgrads, dmid = conv.op.backward_relu(
                conv.params, dy, cins, y, need=[need[w] for w in self.wires[0]],
                gout=None if gout is None else gout[:ncin],
                mid=self._gmid[1] if self._gmid is not None else None)
            self._keep_gmid(1, dmid)
            grads[:ncin] = cgrads
            return grads
        if tag == "conv_act":
            act = self.parts[1]
            # relu's mask, sigmoid's and tanh's derivatives all come from the output (given
            # as the input too: relu's ``x > 0`` is ``y > 0``)
            (dmid,) = act.op.backward(act.params, [dy], [y], [y], [], None,
                                      gout=self._gmid[1:2] if gout is not None
                                      and self._gmid is not None else None)
            self._keep_gmid(1, dmid)
            dmid_for_conv = dmid
        elif tag == "conv_add":
            dmid_for_conv = dy
            grads[ncin] = dy  # the addend's gradient is the head gradient, as elemwise_add's
        else:  # conv_bn
            _, csaved, mid, bsaved = saved
            bn = self.parts[1]
            if mid is None:  # an inference forward: the convolution's output was not kept
                mid = conv.op.forward(conv.params, cins, [], False)[0][0]
            bins = self._ins(1, ins, mid)
            bgout = self._gout(1, gout)
            bgrads = bn.op.backward(bn.params, [dy], bins, None, self._aux(1, aux), bsaved,
                                    gout=bgout, relu=len(self.parts) == 3)
            self._keep_gmid(1, bgrads[0])
            for w, g in zip(self.wires[1], bgrads, strict=True):
                if w >= 0:
                    grads[w] = g
            dmid_for_conv = bgrads[0]
            saved = ("conv", csaved)
        if not conv.grad_needed:  # only the BatchNorm's parameters want gradients
            return grads
        cneed = [need[w] for w in self.wires[0]]
        cgrads = conv.op.backward(conv.params, [dmid_for_conv], cins, [None], [], saved[1],
                                  need=cneed, gout=None if gout is None else gout[:ncin])
        grads[:ncin] = cgrads
        return grads

    def _chain_backward(self, out_grads, aux, records, need, gout):
        grads = [None] * len(need)
        # ``out_grads``: one per visible part before the last, then the last part's
        early = dict(zip(self.visible[:-1], out_grads, strict=False))
        g = out_grads[len(self.visible) - 1]
        for k in range(len(self.parts) - 1, -1, -1):
            part = self.parts[k]
            pins, outs, sv = records[k]
            if k in early and early[k].any():  # a visible value: its readers' gradient
                g = early[k] + g  # (summed before), then the group's, as the executor sums
            pogs = [g] + [np.zeros_like(o) for o in outs[1:]]
            kw = {}
            if part.op.skips_grads:
                kw["need"] = [True if w < 0 else need[w] for w in self.wires[k]]
            pgrads = part.op.backward(part.params, pogs, pins, outs, self._aux(k, aux), sv, **kw)
            g = None
            for w, gi in zip(self.wires[k], pgrads, strict=False):
                if w < 0:
                    g = gi
                else:
                    grads[w] = gi
        return grads
