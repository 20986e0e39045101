// buildPlan's convolutions (onednn_build.hpp): Conv with fused post-ops, a Concat read by a conv
// as one partial conv per concatenated input, and ConvTranspose as stride-1 phase convs.
#if CAE_HAVE_ONEDNN

#include <algorithm>
#include <climits>
#include <cstring>
#include <functional>

#include "error.hpp"
#include "infer/onednn_build.hpp"

namespace cae::infer::onednn::detail {

using dnnl::memory;
using Tag = memory::format_tag;
using Dt = memory::data_type;
using ConvPd = dnnl::convolution_forward::primitive_desc;

struct ConvGeom {
  Dims src, weights, dst;  // weights: [O, I, KH, KW] or, grouped, [G, O/G, I/G, KH, KW]
  bool bias = false;
  Dims strides{1, 1}, dilations{0, 0}, padL{0, 0}, padR{0, 0};  // oneDNN dilation: ONNX's − 1
};

// How a conv runs in 8 bits (Options::int8): stored(dst) = oscale[o] * Σ stored(src) ·
// stored(weights) (+ bias, in the accumulator's units), with weights stored as steps of sW[o].
struct Builder::Quant {
  bool on = false;
  Dt src = Dt::f32, dst = Dt::f32;
  float sSrc = 1.f, sDst = 1.f;
  std::vector<float> sW, oscale;  // per output channel
};

// A conv group between choosing its primitives and emitting them: one primitive per source
// (Conv; several when a Concat is split) or per output phase (ConvTranspose).
struct Builder::ConvPlan {
  const Op* op = nullptr;
  std::size_t len = 0;  // chain ops fused
  std::string names, sumIn;
  std::vector<PostOp> po;
  std::vector<int> srcs;
  Dims wd;  // ONNX weight dims
  bool split = false;
  std::vector<ConvGeom> parts;
  std::vector<ConvPd> pds;
  std::vector<std::pair<std::size_t, std::size_t>> phases;  // ConvTranspose: (py, px) per part
  std::vector<Phase1d> ph[2];
  Dims out;  // ConvTranspose: output H, W
  Quant q;
};

namespace {

dnnl::post_ops toDnnl(const std::vector<PostOp>& ops) {
  dnnl::post_ops po;
  for (const PostOp& p : ops) {
    if (p.sum) {
      po.append_sum(1.f);
      continue;
    }
    const dnnl::algorithm alg = p.act == Act::Sigmoid ? dnnl::algorithm::eltwise_logistic
                                : p.act == Act::Tanh  ? dnnl::algorithm::eltwise_tanh
                                                      : dnnl::algorithm::eltwise_relu;
    po.append_eltwise(1.f, alg, p.act == Act::LeakyRelu ? p.alpha : 0.f, 0.f);
  }
  return po;
}

// The data type of a conv reading cin and writing cout channels, given the activations' act: f32
// where either side has fewer than 16 channels (an image's: the stem reading the frames, the
// output, what a residual adds to the input). Those convs are cheap, and keep the image's
// precision (bf16 would round an 8-bit frame's samples by up to half a step).
Dt convType(int64_t cin, int64_t cout, Dt act) { return cin < 16 || cout < 16 ? Dt::f32 : act; }

// The first fast implementation oneDNN lists for this conv in data type dt (sources, weights and,
// unless dst is given, destination) or, with q.on, in q's 8-bit types and scales; else its first
// choice.
std::pair<ConvPd, bool> chooseConv(const ConvGeom& c, const Md& dst, const std::vector<PostOp>& po,
                                   const dnnl::engine& eng, Dt dt, const Builder::Quant& q) {
  const Md src(c.src, q.on ? q.src : dt, Tag::any), w(c.weights, q.on ? Dt::s8 : dt, Tag::any);
  const Md b = c.bias ? Md({c.dst[1]}, Dt::f32, Tag::x) : Md();
  const Md d = dst.is_zero() ? Md(c.dst, q.on ? q.dst : dt, Tag::any) : dst;
  const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference,
                                             dnnl::algorithm::convolution_direct, src, w, b, d,
                                             c.strides, c.dilations, c.padL, c.padR);
  dnnl::primitive_attr attr;
  attr.set_post_ops(toDnnl(po));
  if (q.on) attr.set_output_scales(1 << 1, q.oscale);
  ConvPd pd(desc, attr, eng, true);
  if (!pd)
    throw Error("oneDNN has no convolution for src " + dimsStr(c.src) + ", weights " +
                dimsStr(c.weights));
  do {
    if (fastImpl(pd.impl_info_str())) return {pd, true};
  } while (pd.next_impl());
  return {ConvPd(desc, attr, eng), false};
}

double convFlops(const ConvGeom& c) {
  const std::size_t wr = c.weights.size();
  const double perOut = double(c.weights[wr - 3] * c.weights[wr - 2] * c.weights[wr - 1]);
  return 2.0 * double(c.dst[0] * c.dst[1] * c.dst[2] * c.dst[3]) * perOut;
}

Dims weightDims(int64_t group, int64_t out, int64_t in, int64_t kh, int64_t kw) {
  if (group == 1) return {out, in, kh, kw};
  return {group, out / group, in / group, kh, kw};
}

// The activation layouts a phase conv may pick, so that the whole output can take it too.
Tag layoutOf(const Md& md) {
  for (Tag t : {Tag::nChw16c, Tag::nChw8c, Tag::nChw4c, Tag::nhwc, Tag::nchw})
    if (Md(md.dims(), md.data_type(), t) == md) return t;
  return Tag::undef;
}

[[noreturn]] void shapeError(const Op& op, const std::string& what) {
  throw ShapeError(op.op + " (node '" + op.name + "'): " + what);
}

}  // namespace

void Builder::planFusion() {
  const std::size_t n = p_.ops.size();
  chain_.assign(n, {});
  owner_.assign(n, -1);
  splitFrom_.assign(n, -1);
  deferredConcat_.assign(n, false);
  if (!o_.fuse) return;
  std::map<std::string, std::vector<int>> readers;
  for (std::size_t i = 0; i < n; ++i)
    for (const std::string& in : p_.ops[i].inputs) readers[in].push_back(int(i));
  auto isOutput = [&](const std::string& v) {
    return std::find(p_.outputs.begin(), p_.outputs.end(), v) != p_.outputs.end();
  };
  for (std::size_t i = 0; i < n; ++i) {
    const Op& op = p_.ops[i];
    if (op.kind != OpKind::Conv && op.kind != OpKind::ConvTranspose) continue;
    std::string v = op.output;
    bool summed = false;
    // Activations, and for Conv one Add, each the only reader of the value before it.
    while (!isOutput(v) && readers[v].size() == 1) {
      const int r = readers[v][0];
      const Op& next = p_.ops[std::size_t(r)];
      if (owner_[std::size_t(r)] >= 0) break;
      if (next.kind == OpKind::Add && op.kind == OpKind::Conv && !summed)
        summed = true;
      else if (next.kind != OpKind::Eltwise)
        break;
      chain_[i].push_back(r);
      owner_[std::size_t(r)] = int(i);
      v = next.output;
    }
  }
  // A channel Concat read only by convolutions (as their data input) is not made at all: each
  // reader runs one partial conv per concatenated input, accumulating (split weights, sum).
  for (std::size_t c = 0; c < n; ++c) {
    const Op& cat = p_.ops[c];
    if (cat.kind != OpKind::Concat || (cat.axis != 1 && cat.axis != -3) || isOutput(cat.output))
      continue;
    const std::vector<int>& rs = readers[cat.output];
    const bool convsOnly = !rs.empty() && std::all_of(rs.begin(), rs.end(), [&](int r) {
      const Op& o = p_.ops[std::size_t(r)];
      return o.kind == OpKind::Conv && o.conv.group == 1 && o.inputs[0] == cat.output &&
             std::count(o.inputs.begin(), o.inputs.end(), cat.output) == 1;
    });
    if (!convsOnly) continue;
    // An 8-bit conv reads the Concat as one u8 tensor (a copy, a quarter of f32's bytes):
    // oneDNN's sum post-op cannot add a partial result that a ReLU has not yet clipped into u8.
    if (std::any_of(rs.begin(), rs.end(),
                    [&](int r) { return int8Eligible(p_.ops[std::size_t(r)]); }))
      continue;
    deferredConcat_[c] = true;
    for (int r : rs) splitFrom_[std::size_t(r)] = int(c);
  }
}

void Builder::buildConvGroup(int c) {
  const std::vector<int>& chain = chain_[std::size_t(c)];
  std::size_t len = chain.size() + 1;
  bool done = false;
  if (p_.ops[std::size_t(c)].kind == OpKind::ConvTranspose) {
    while (!done && len-- > 0) done = tryConvTranspose(c, len, len > 0);
  } else {
    if (splitFrom_[std::size_t(c)] >= 0)
      while (!done && len-- > 0) done = tryConv(c, len, true, true);
    if (!done) len = chain.size() + 1;
    while (!done && len-- > 0) done = tryConv(c, len, false, len > 0);
  }
  // What did not fuse runs on its own, in order, after the conv.
  for (std::size_t k = len; k < chain.size(); ++k) {
    const Op& op = p_.ops[std::size_t(chain[k])];
    if (op.kind == OpKind::Eltwise)
      buildEltwise(op);
    else
      buildAdd(op);
  }
}

std::vector<PostOp> Builder::postOps(int c, std::size_t len, std::string* sumInput,
                                     std::string* names) {
  std::vector<PostOp> po;
  std::string v = p_.ops[std::size_t(c)].output;
  *names = p_.ops[std::size_t(c)].name;
  for (std::size_t k = 0; k < len; ++k) {
    const Op& op = p_.ops[std::size_t(chain_[std::size_t(c)][k])];
    PostOp p;
    if (op.kind == OpKind::Add) {
      p.sum = true;
      *sumInput = op.inputs[0] == v ? op.inputs[1] : op.inputs[0];
    } else {
      p.act = op.act;
      p.alpha = op.alpha;
    }
    po.push_back(p);
    *names += "+" + op.name;
    v = op.output;
  }
  return po;
}

Builder::Quant Builder::quantOf(const ConvPlan& cp, int c, std::size_t len) const {
  Quant q;
  const Op& op = *cp.op;
  if (cp.split || !int8Eligible(op)) return q;
  q.on = true;
  q.src = int8Signed(op.inputs[0]) ? Dt::s8 : Dt::u8;
  q.sSrc = int8Step(op.inputs[0]);
  // u8 out where the conv ends in a plain ReLU and its result has a range; else f32.
  const std::string out =
      len == 0 ? op.output : p_.ops[std::size_t(chain_[std::size_t(c)][len - 1])].output;
  const bool relu = !cp.po.empty() && std::all_of(cp.po.begin(), cp.po.end(), [](const PostOp& p) {
    return !p.sum && (p.act == Act::Relu || (p.act == Act::LeakyRelu && p.alpha == 0.f));
  });
  // Read only by 8-bit convs (directly or through a Concat): else the reader would get the
  // 8-bit rounding of a value it reads in f32.
  std::function<bool(const std::string&)> read8 = [&](const std::string& v) {
    bool any = false;
    for (const Op& r : p_.ops) {
      if (std::find(r.inputs.begin(), r.inputs.end(), v) == r.inputs.end()) continue;
      any = true;
      if (r.kind == OpKind::Concat ? !read8(r.output) : !(int8Eligible(r) && r.inputs[0] == v))
        return false;
    }
    return any && std::find(p_.outputs.begin(), p_.outputs.end(), v) == p_.outputs.end();
  };
  if (relu && cp.sumIn.empty() && int8Step(out) > 0 && !int8Signed(out) && read8(out)) {
    q.dst = Dt::u8;
    q.sDst = int8Step(out);
  }
  // Weights: one step per output channel, the largest |w| at 127.
  const onnx::Tensor& w = g_.initializers.at(op.inputs[1]);
  const bool transposed = op.kind == OpKind::ConvTranspose;
  const int64_t cout = transposed ? w.dims[1] : w.dims[0], cin = transposed ? w.dims[0] : w.dims[1];
  const int64_t khw = w.dims[2] * w.dims[3];
  q.sW.assign(std::size_t(cout), 0.f);
  for (int64_t i = 0; i < cin; ++i)
    for (int64_t o = 0; o < cout; ++o) {
      const float* p = w.data.data() + (transposed ? i * cout + o : o * cin + i) * khw;
      for (int64_t k = 0; k < khw; ++k)
        q.sW[std::size_t(o)] = std::max(q.sW[std::size_t(o)], std::abs(p[k]) / 127.f);
    }
  for (float& x : q.sW)
    if (!(x > 0)) x = 1.f;
  for (float x : q.sW) q.oscale.push_back(q.sSrc * x / q.sDst);
  return q;
}

Dims Builder::tensorDims(const std::string& name) {
  const auto init = g_.initializers.find(name);
  return init != g_.initializers.end() ? init->second.dims : dimsOf(need(name));
}

int Builder::weightsBuffer(const std::string& name, const Dims& dims,
                           const std::function<std::vector<float>(const float*)>& prep,
                           const Md& want, const std::string& node,
                           const std::vector<float>& wScale) {
  const Md plain = plainMd(dims);
  const int out = newBuffer(want, Buffer::Kind::Const);
  plan_->bufs[std::size_t(out)].mem = memory(want, eng_);
  const auto init = g_.initializers.find(name);
  if (init != g_.initializers.end()) {  // constant: laid out once, now
    std::vector<float> v = prep(init->second.data.data());
    memory src(plain, eng_, v.data());
    dnnl::primitive_attr attr;
    if (!wScale.empty()) {  // 8-bit: output channel o (dimension 0) in steps of wScale[o]
      std::vector<float> inv(wScale.size());
      std::transform(wScale.begin(), wScale.end(), inv.begin(), [](float x) { return 1.f / x; });
      attr.set_output_scales(1 << 0, inv);
    }
    const dnnl::reorder::primitive_desc rpd(eng_, plain, eng_, want, attr);
    dnnl::reorder(rpd).execute(strm_, src, plan_->bufs[std::size_t(out)].mem);
    strm_.wait();
    return out;
  }
  // A graph input: prepared on every forward, then laid out.
  const int in = need(name);
  const int staged = newBuffer(plain, Buffer::Kind::Const);
  plan_->bufs[std::size_t(staged)].mem = memory(plain, eng_);
  Step s;
  Plan* plan = plan_.get();
  s.host = [plan, in, staged, prep] {
    const std::vector<float> v =
        prep(static_cast<const float*>(plan->bufs[std::size_t(in)].mem.get_data_handle()));
    std::memcpy(plan->bufs[std::size_t(staged)].mem.get_data_handle(), v.data(),
                v.size() * sizeof(float));
  };
  s.info.node = node;
  s.info.op = "weights(" + name + ")";
  s.info.impl = "host";
  plan_->steps.push_back(std::move(s));
  const dnnl::reorder::primitive_desc pd(eng_, plain, eng_, want);
  addStep(dnnl::reorder(pd), pd, {{DNNL_ARG_FROM, {staged, {}}}, {DNNL_ARG_TO, {out, {}}}}, node,
          "reorder");
  return out;
}

// The buffer a conv with a sum post-op, run at op position `at`, writes: the addend's own when
// nothing reads it after that (and the conv does not read it), else a copy in the conv's layout.
int Builder::sumDestination(const std::string& addend, int at, bool mayOverwrite, const Md& md,
                            const std::string& node) {
  const int a = need(addend);
  const Buffer b = plan_->bufs[std::size_t(a)];  // a copy: newBuffer below moves the buffers
  if (mayOverwrite && b.kind == Buffer::Kind::Temp && b.md == md && lastUse_[addend] <= at) {
    copies_.erase(a);  // overwritten: earlier copies of it are not copies of it any more
    for (auto& [from, list] : copies_)
      list.erase(
          std::remove_if(list.begin(), list.end(), [&](const auto& e) { return e.second == a; }),
          list.end());
    return a;
  }
  const int d = newBuffer(md);  // f32: an 8-bit conv with a sum writes f32 (quantOf)
  const dnnl::reorder::primitive_desc pd = reorderPd(b.md, b.scale, md, 1.f);
  addStep(dnnl::reorder(pd), pd, {{DNNL_ARG_FROM, {a, {}}}, {DNNL_ARG_TO, {d, {}}}}, node,
          "reorder(sum)");
  return d;
}

// Sources, weights and geometry of conv c (as one conv, or split over its Concat's inputs).
Builder::ConvPlan Builder::convPlan(int c, std::size_t len, bool split) {
  ConvPlan cp;
  const Op& op = p_.ops[std::size_t(c)];
  cp.op = &op;
  cp.len = len;
  cp.split = split;
  cp.po = postOps(c, len, &cp.sumIn, &cp.names);
  const std::vector<std::string> srcNames =
      split ? p_.ops[std::size_t(splitFrom_[std::size_t(c)])].inputs
            : std::vector<std::string>{op.inputs[0]};
  int64_t cin = 0;
  for (const std::string& s : srcNames) {
    cp.srcs.push_back(need(s));
    const Dims d = dimsOf(cp.srcs.back()), d0 = dimsOf(cp.srcs[0]);
    if (d.size() != 4) shapeError(op, "input " + dimsStr(d) + " is not N x C x H x W");
    if (d[0] != d0[0] || d[2] != d0[2] || d[3] != d0[3])
      shapeError(op, "concatenated inputs " + dimsStr(d) + " and " + dimsStr(d0) +
                         " differ off the channel axis");
    cin += d[1];
  }
  const Dims x = dimsOf(cp.srcs[0]);
  cp.wd = weightsOf(op, op.kind == OpKind::Conv ? cin : x[1]);
  if (op.kind == OpKind::ConvTranspose) return cp;
  ConvGeom geom;
  geom.bias = op.inputs.size() > 2 && !op.inputs[2].empty();
  for (int a = 0; a < 2; ++a) {
    const std::size_t ax = std::size_t(a);
    convPads(op.conv, a, x[ax + 2], cp.wd[ax + 2], &geom.padL[ax], &geom.padR[ax]);
    geom.strides[ax] = op.conv.strides[ax];
    geom.dilations[ax] = op.conv.dilations[ax] - 1;
  }
  geom.dst = {x[0], cp.wd[0], convOutput(op.conv, 0, x[2], cp.wd[2]),
              convOutput(op.conv, 1, x[3], cp.wd[3])};
  if (geom.dst[2] < 1 || geom.dst[3] < 1)
    shapeError(op, "input " + dimsStr(x) + " is smaller than the kernel");
  for (std::size_t k = 0; k < cp.srcs.size(); ++k) {
    ConvGeom p = geom;
    p.src = dimsOf(cp.srcs[k]);
    p.weights = weightDims(op.conv.group, cp.wd[0], split ? p.src[1] : cin, cp.wd[2], cp.wd[3]);
    p.bias = geom.bias && k == 0;
    cp.parts.push_back(p);
  }
  return cp;
}

// ONNX weight dims of a Conv ([O, I/G, KH, KW]) or ConvTranspose ([I, O/G, KH, KW]), checked
// against the input channels and kernel_shape.
Dims Builder::weightsOf(const Op& op, int64_t cin) {
  Dims wd = tensorDims(op.inputs[1]);
  const int64_t g = op.conv.group;
  const bool fits = wd.size() == 4 && (op.kind == OpKind::Conv ? wd[1] * g == cin && wd[0] % g == 0
                                                               : wd[0] == cin && cin % g == 0);
  if (!fits)
    shapeError(op, "weights " + dimsStr(wd) + " do not fit an input of " + std::to_string(cin) +
                       " channels in " + std::to_string(g) + " group(s)");
  if ((op.conv.kernel[0] && op.conv.kernel[0] != wd[2]) ||
      (op.conv.kernel[1] && op.conv.kernel[1] != wd[3]))
    shapeError(op, "kernel_shape differs from the weights " + dimsStr(wd));
  const std::string b = op.inputs.size() > 2 ? op.inputs[2] : std::string();
  const int64_t cout = op.kind == OpKind::Conv ? wd[0] : wd[1] * g;
  if (!b.empty() && tensorDims(b) != Dims{cout})
    shapeError(op, "bias " + dimsStr(tensorDims(b)) + " is not one value per output channel");
  return wd;
}

bool Builder::tryConv(int c, std::size_t len, bool split, bool mustBeFast) {
  ConvPlan cp = convPlan(c, len, split);
  if (split && !cp.sumIn.empty()) return false;  // one sum per conv: the partials use it
  if (!cp.sumIn.empty() && dimsOf(need(cp.sumIn)) != cp.parts[0].dst)
    return false;  // a broadcasting Add stays a binary op
  // The later partial convs add onto the first's output.
  int64_t cin = 0;
  for (const ConvGeom& part : cp.parts) cin += part.src[1];
  const Dt dt = convType(cin, cp.parts[0].dst[1], act_);
  cp.q = quantOf(cp, c, len);
  for (std::size_t k = 0; k < cp.parts.size(); ++k) {
    std::vector<PostOp> po;
    if (k > 0) po.push_back(PostOp{true});
    if (k + 1 == cp.parts.size()) po.insert(po.end(), cp.po.begin(), cp.po.end());
    const auto [pd, fast] =
        chooseConv(cp.parts[k], k == 0 ? Md() : cp.pds[0].dst_desc(), po, eng_, dt, cp.q);
    if (mustBeFast && !fast) return false;
    cp.pds.push_back(pd);
  }
  std::vector<int> srcs;
  for (std::size_t k = 0; k < cp.srcs.size(); ++k)
    srcs.push_back(reorderTo(cp.srcs[k], cp.pds[k].src_desc(), cp.op->name, cp.q.sSrc));
  int dst = -1;
  if (!cp.sumIn.empty()) {
    const bool read = std::count(srcs.begin(), srcs.end(), need(cp.sumIn)) > 0;
    dst = sumDestination(cp.sumIn, chain_[std::size_t(c)].back(), !read, cp.pds[0].dst_desc(),
                         cp.names);
  } else {
    dst = newBuffer(cp.pds[0].dst_desc());
    plan_->bufs[std::size_t(dst)].scale = cp.q.sDst;
  }
  emitConvParts(cp, srcs, dst);
  vals_[len == 0 ? cp.op->output : p_.ops[std::size_t(chain_[std::size_t(c)][len - 1])].output] =
      dst;
  return true;
}

void Builder::emitConvParts(const ConvPlan& cp, const std::vector<int>& srcs, int dst) {
  const Op& op = *cp.op;
  const int64_t cout = cp.wd[0], khw = cp.wd[2] * cp.wd[3], total = cp.wd[1];
  int64_t offset = 0;
  for (std::size_t k = 0; k < cp.parts.size(); ++k) {
    const int64_t ck = cp.parts[k].src[1], off = offset;
    offset += ck;
    // Split: in-channels [off, off + ck) of every out-channel. Whole: the ONNX layout as it is.
    auto prep = [whole = !cp.split, ck, off, cout, khw, total](const float* w) {
      if (whole) return std::vector<float>(w, w + cout * total * khw);
      std::vector<float> v(std::size_t(cout * ck * khw));
      for (int64_t o = 0; o < cout; ++o)
        std::memcpy(&v[std::size_t(o * ck * khw)], w + (o * total + off) * khw,
                    std::size_t(ck * khw) * sizeof(float));
      return v;
    };
    std::vector<std::pair<int, BufRef>> args{
        {DNNL_ARG_SRC, {srcs[k], {}}},
        {DNNL_ARG_WEIGHTS,
         {weightsBuffer(op.inputs[1], cp.parts[k].weights, prep, cp.pds[k].weights_desc(), op.name,
                        cp.q.sW),
          {}}},
        {DNNL_ARG_DST, {dst, {}}}};
    if (cp.parts[k].bias) args.push_back({DNNL_ARG_BIAS, {biasBuffer(op, cp.pds[k], cp.q), {}}});
    addStep(dnnl::convolution_forward(cp.pds[k]), cp.pds[k], std::move(args),
            cp.split ? cp.names + "(part " + std::to_string(k) + ")" : cp.names, "conv",
            convFlops(cp.parts[k]));
  }
}

int Builder::biasBuffer(const Op& op, const ConvPd& pd, const Quant& q) {
  const int64_t n = pd.bias_desc().dims()[0];
  return weightsBuffer(
      op.inputs[2], {n},
      [n, q](const float* b) {
        std::vector<float> v(b, b + n);
        if (q.on)
          for (std::size_t o = 0; o < v.size(); ++o) v[o] /= q.sSrc * q.sW[o % q.sW.size()];
        return v;
      },
      pd.bias_desc(), op.name);
}

// The phase convs of ConvTranspose c; false when one is not fast and mustBeFast.
bool Builder::choosePhases(ConvPlan& cp, bool mustBeFast) {
  const Op& op = *cp.op;
  const Dims x = dimsOf(cp.srcs[0]);
  const int64_t g = op.conv.group, cout = cp.wd[1] * g;
  Tag layout = Tag::undef;  // every phase writes the layout the first one chose (or plain)
  for (std::size_t py = 0; py < cp.ph[0].size(); ++py)
    for (std::size_t px = 0; px < cp.ph[1].size(); ++px) {
      const Phase1d &fy = cp.ph[0][py], &fx = cp.ph[1][px];
      if (fy.count == 0 || fx.count == 0) continue;
      ConvGeom geom;
      geom.src = x;
      geom.weights = weightDims(g, cout, x[1], fy.size(), fx.size());
      geom.bias = op.inputs.size() > 2 && !op.inputs[2].empty();
      geom.dst = {x[0], cout, fy.convOutput(x[2]), fx.convOutput(x[3])};
      geom.dilations = {fy.dilation - 1, fx.dilation - 1};
      geom.padL = {fy.padL, fx.padL};
      geom.padR = {fy.padR, fx.padR};
      const Dt dt = convType(x[1], cout, act_), ddt = cp.q.on ? cp.q.dst : dt;
      auto choice = chooseConv(geom, layout == Tag::undef ? Md() : Md(geom.dst, ddt, layout), cp.po,
                               eng_, dt, cp.q);
      if (layout == Tag::undef) {
        layout = layoutOf(choice.first.dst_desc());
        if (layout == Tag::undef) {
          layout = Tag::nchw;
          choice = chooseConv(geom, Md(geom.dst, ddt, layout), cp.po, eng_, dt, cp.q);
        }
      }
      if (mustBeFast && !choice.second) return false;
      cp.parts.push_back(geom);
      cp.pds.push_back(choice.first);
      cp.phases.emplace_back(py, px);
    }
  return true;
}

bool Builder::tryConvTranspose(int c, std::size_t len, bool mustBeFast) {
  ConvPlan cp = convPlan(c, len, false);
  const Op& op = *cp.op;
  const Dims x = dimsOf(cp.srcs[0]);
  cp.out.resize(2);
  for (int a = 0; a < 2; ++a) {
    const std::size_t ax = std::size_t(a);
    int64_t b = 0, e = 0;
    deconvPads(op.conv, a, x[ax + 2], cp.wd[ax + 2], &b, &e);
    cp.out[ax] = deconvOutput(op.conv, a, x[ax + 2], cp.wd[ax + 2]);
    if (cp.out[ax] < 1) shapeError(op, "output would be empty for input " + dimsStr(x));
    cp.ph[a] = deconvPhases(x[ax + 2], cp.wd[ax + 2], op.conv.strides[ax], op.conv.dilations[ax], b,
                            e, cp.out[ax]);
  }
  const Dims out{x[0], cp.wd[1] * op.conv.group, cp.out[0], cp.out[1]};
  int y = -1;
  cp.q = quantOf(cp, c, len);
  if (stackable(cp)) {
    cp.q = Quant();  // few output channels: f32 (int8Eligible wants 16)
    if (!chooseStacked(cp, mustBeFast)) return false;
    y = newBuffer(Md(out, cp.pds[0].dst_desc().data_type(), Tag::nchw));
    emitStacked(cp, y);
  } else {
    if (!choosePhases(cp, mustBeFast)) return false;
    const Md first = cp.pds[0].dst_desc();
    y = newBuffer(Md(out, first.data_type(), layoutOf(first)));
    plan_->bufs[std::size_t(y)].scale = cp.q.sDst;
    for (std::size_t k = 0; k < cp.parts.size(); ++k) emitPhase(cp, k, y);
  }
  vals_[len == 0 ? op.output : p_.ops[std::size_t(chain_[std::size_t(c)][len - 1])].output] = y;
  return true;
}

// Few output channels (an image's 1 or 3), and every phase reading the input through the same
// window (kernel = stride, say): one conv computes all phases as its output channels, where
// separate phase convs would each fill a 16-channel block for 1 channel (16x the work).
bool Builder::stackable(const ConvPlan& cp) const {
  if (cp.op->conv.group != 1 || cp.wd[1] >= 16) return false;
  for (const std::vector<Phase1d>& ph : cp.ph)
    for (const Phase1d& f : ph)
      if (f.taps.empty() || f.size() != ph[0].size() || f.dilation != ph[0].dilation ||
          f.padL != ph[0].padL || f.padR != ph[0].padR)
        return false;
  return true;
}

bool Builder::chooseStacked(ConvPlan& cp, bool mustBeFast) {
  const Dims x = dimsOf(cp.srcs[0]);
  const Phase1d &fy = cp.ph[0][0], &fx = cp.ph[1][0];
  const int64_t oc = cp.wd[1] * int64_t(cp.ph[0].size() * cp.ph[1].size());
  ConvGeom geom;
  geom.src = x;
  geom.weights = {oc, x[1], fy.size(), fx.size()};
  geom.bias = cp.op->inputs.size() > 2 && !cp.op->inputs[2].empty();
  geom.dst = {x[0], oc, fy.convOutput(x[2]), fx.convOutput(x[3])};
  geom.dilations = {fy.dilation - 1, fx.dilation - 1};
  geom.padL = {fy.padL, fx.padL};
  geom.padR = {fy.padR, fx.padR};
  // Channels last, so that each phase's channels are a plain strided view for the interleave.
  const Dt dt = convType(x[1], oc, act_);
  const auto [pd, fast] = chooseConv(geom, Md(geom.dst, dt, Tag::nhwc), cp.po, eng_, dt, cp.q);
  if (mustBeFast && !fast) return false;
  cp.parts.push_back(geom);
  cp.pds.push_back(pd);
  return true;
}

void Builder::emitStacked(const ConvPlan& cp, int y) {
  const Op& op = *cp.op;
  const ConvGeom& geom = cp.parts[0];
  const ConvPd& pd = cp.pds[0];
  const int64_t cout = cp.wd[1], oc = geom.dst[1], q = geom.dst[2], qx = geom.dst[3];
  const std::vector<Phase1d>&phy = cp.ph[0], &phx = cp.ph[1];
  auto prep = [cin = geom.src[1], cout, kh = cp.wd[2], kw = cp.wd[3], phy, phx](const float* w) {
    std::vector<float> all;  // phase-major: out-channel p·cout + o
    for (const Phase1d& fy : phy)
      for (const Phase1d& fx : phx) {
        const std::vector<float> v = phaseWeights(w, cin, cout, 1, kh, kw, fy, fx);
        all.insert(all.end(), v.begin(), v.end());
      }
    return all;
  };
  const int s = newBuffer(pd.dst_desc());
  std::vector<std::pair<int, BufRef>> args{
      {DNNL_ARG_SRC, {reorderTo(cp.srcs[0], pd.src_desc(), op.name), {}}},
      {DNNL_ARG_WEIGHTS,
       {weightsBuffer(op.inputs[1], geom.weights, prep, pd.weights_desc(), op.name), {}}},
      {DNNL_ARG_DST, {s, {}}}};
  auto biasPrep = [cout, oc](const float* b) {  // each phase's copy of the bias
    std::vector<float> v(static_cast<std::size_t>(oc));
    for (int64_t i = 0; i < oc; ++i) v[std::size_t(i)] = b[i % cout];
    return v;
  };
  if (geom.bias)
    args.push_back({DNNL_ARG_BIAS,
                    {weightsBuffer(op.inputs[2], {oc}, biasPrep, pd.bias_desc(), op.name), {}}});
  addStep(dnnl::convolution_forward(pd), pd, std::move(args), cp.names + " phases",
          "conv(convtranspose phases)", convFlops(geom));
  const Md ymd = plan_->bufs[std::size_t(y)].md;
  const int64_t sy = op.conv.strides[0], sx = op.conv.strides[1];
  if (ymd.dims()[2] == q * sy && ymd.dims()[3] == qx * sx &&
      std::all_of(phy.begin(), phy.end(), [](const Phase1d& f) { return f.skip == 0; }) &&
      std::all_of(phx.begin(), phx.end(), [](const Phase1d& f) { return f.skip == 0; })) {
    // Every phase fills its grid exactly: one 6-D reorder, [N, C, q, py, qx, px] on both sides.
    const int64_t n = geom.dst[0], h = q * sy, w = qx * sx;
    const Dt dt = pd.dst_desc().data_type();
    const Md from({n, cout, q, sy, qx, sx}, dt, {q * qx * oc, 1, qx * oc, sx * cout, oc, cout});
    const Md to({n, cout, q, sy, qx, sx}, dt, {cout * h * w, h * w, sy * w, w, sx, 1});
    const dnnl::reorder::primitive_desc rpd(eng_, from, eng_, to);
    addStep(dnnl::reorder(rpd), rpd, {{DNNL_ARG_FROM, {s, from}}, {DNNL_ARG_TO, {y, to}}}, cp.names,
            "reorder(interleave)");
    return;
  }
  for (std::size_t py = 0; py < phy.size(); ++py)
    for (std::size_t px = 0; px < phx.size(); ++px) {
      const Phase1d &fy = phy[py], &fx = phx[px];
      if (fy.count == 0 || fx.count == 0) continue;
      const Dims part{geom.dst[0], cout, fy.count, fx.count};
      Md from(part, pd.dst_desc().data_type(), {q * qx * oc, 1, qx * oc, oc});  // phase p of s
      from.data.offset0 = int64_t(py * phx.size() + px) * cout + (fy.skip * qx + fx.skip) * oc;
      const Md to =
          stridedView(ymd, part, int64_t(py), int64_t(px), op.conv.strides[0], op.conv.strides[1]);
      const dnnl::reorder::primitive_desc rpd(eng_, from, eng_, to);
      addStep(dnnl::reorder(rpd), rpd, {{DNNL_ARG_FROM, {s, from}}, {DNNL_ARG_TO, {y, to}}},
              cp.names, "reorder(interleave)");
    }
}

// Phase k: its stride-1 conv, then its outputs interleaved into y (every stride-th pixel).
void Builder::emitPhase(const ConvPlan& cp, std::size_t k, int y) {
  const Op& op = *cp.op;
  const auto [py, px] = cp.phases[k];
  const Phase1d &fy = cp.ph[0][py], &fx = cp.ph[1][px];
  const ConvGeom& geom = cp.parts[k];
  const ConvPd& pd = cp.pds[k];
  const Md ymd = plan_->bufs[std::size_t(y)].md;  // a copy: newBuffer moves the buffers
  auto prep = [cin = geom.src[1], coutG = cp.wd[1], g = op.conv.group, kh = cp.wd[2], kw = cp.wd[3],
               fy, fx](const float* w) { return phaseWeights(w, cin, coutG, g, kh, kw, fy, fx); };
  // Stride 1 without cropping: the phase is the whole output.
  const bool direct = cp.parts.size() == 1 && fy.skip == 0 && fx.skip == 0 &&
                      geom.dst == ymd.dims() && pd.dst_desc() == ymd;
  const int d = direct ? y : newBuffer(pd.dst_desc());
  plan_->bufs[std::size_t(d)].scale = cp.q.sDst;
  std::vector<std::pair<int, BufRef>> args{
      {DNNL_ARG_SRC, {reorderTo(cp.srcs[0], pd.src_desc(), op.name, cp.q.sSrc), {}}},
      {DNNL_ARG_WEIGHTS,
       {weightsBuffer(op.inputs[1], geom.weights, prep, pd.weights_desc(), op.name, cp.q.sW), {}}},
      {DNNL_ARG_DST, {d, {}}}};
  if (geom.bias) args.push_back({DNNL_ARG_BIAS, {biasBuffer(op, pd, cp.q), {}}});
  const bool noTaps = fy.taps.empty() || fx.taps.empty();
  addStep(dnnl::convolution_forward(pd), pd, std::move(args),
          cp.names + " phase " + std::to_string(py) + "," + std::to_string(px),
          "conv(convtranspose phase)", noTaps ? 0.0 : convFlops(geom));
  if (direct) return;
  const Dims part{geom.dst[0], geom.dst[1], fy.count, fx.count};
  const Md from = pd.dst_desc().submemory_desc(part, {0, 0, fy.skip, fx.skip});
  const Md to =
      stridedView(ymd, part, int64_t(py), int64_t(px), op.conv.strides[0], op.conv.strides[1]);
  const dnnl::reorder::primitive_desc rpd(eng_, from, eng_, to);
  addStep(dnnl::reorder(rpd), rpd, {{DNNL_ARG_FROM, {d, from}}, {DNNL_ARG_TO, {y, to}}}, cp.names,
          "reorder(interleave)");
}

}  // namespace cae::infer::onednn::detail

#endif  // CAE_HAVE_ONEDNN
