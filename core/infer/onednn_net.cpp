// Net (core/infer/onednn.hpp): a plan per input shape, built on first use and cached, then run
// step by step on one oneDNN stream with this Net's OpenMP thread count.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>

#include "error.hpp"
#include "infer/onednn.hpp"
#include "infer/onednn_graph.hpp"

#if CAE_HAVE_ONEDNN
#include <omp.h>

#include "infer/onednn_build.hpp"
#include "infer/onednn_plan.hpp"
#endif

namespace cae::infer::onednn {

#if CAE_HAVE_ONEDNN

using detail::Dims;
using detail::Plan;

struct Net::Impl {
  detail::Program prog;
  onnx::Graph graph;
  Options o;
  int threads = 1;
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm{eng};
  std::map<std::vector<Dims>, std::unique_ptr<Plan>> plans;
  Plan* last = nullptr;
  std::vector<LayerTime> profile;

  std::string where() const { return graph.path.empty() ? "the graph" : "'" + graph.path + "'"; }

  Plan& planFor(const std::vector<Dims>& key) {
    auto it = plans.find(key);
    if (it == plans.end()) {
      // Kernels are set up for the thread count they will run with.
      omp_set_num_threads(threads);
      try {
        it = plans.emplace(key, detail::buildPlan(prog, graph, key, o, eng, strm)).first;
      } catch (const dnnl::error& e) {
        throw Error("oneDNN cannot build " + where() + " for input " + detail::dimsStr(key[0]) +
                    ": " + e.what());
      }
    }
    last = it->second.get();
    return *last;
  }

  void run(Plan& p) {
    // Per calling thread (OpenMP's nthreads-var), so each streaming thread gets this Net's count.
    omp_set_num_threads(threads);
    if (o.profile) profile.clear();
    try {
      for (detail::Step& s : p.steps) {
        const auto t0 = std::chrono::steady_clock::now();
        if (s.host)
          s.host();
        else
          s.prim.execute(strm, s.bound);
        if (!o.profile) continue;
        strm.wait();
        LayerTime t = s.info;
        t.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                   .count();
        profile.push_back(t);
      }
      strm.wait();
    } catch (const dnnl::error& e) {
      throw Error("oneDNN failed to run " + where() + ": " + e.what());
    }
  }
};

Net::Net(const onnx::Graph& g, const Options& o) : impl_(std::make_unique<Impl>()) {
  std::string why;
  if (!detail::analyse(g, &impl_->prog, &why)) throw Unsupported(why);
  impl_->graph = g;
  impl_->o = o;
  impl_->threads = o.threads > 0 ? o.threads : kDefaultThreads;
}

cv::Mat Net::forward(const cv::Mat& blob) {
  cv::Mat y;
  forward(blob, y);
  return y;
}

void Net::forward(const cv::Mat& blob, cv::Mat& out) {
  if (out.data && out.data == blob.data) {  // the input is read while the output is written
    cv::Mat fresh;                          // (blob may be out itself)
    forward(blob, fresh);
    out = fresh;
    return;
  }
  if (impl_->prog.inputs.size() != 1 || impl_->prog.outputs.size() != 1)
    throw InvalidArgument("Net::forward(cv::Mat) needs a graph of one input and one output; " +
                          impl_->where() + " has " + std::to_string(impl_->prog.inputs.size()) +
                          " and " + std::to_string(impl_->prog.outputs.size()));
  if (blob.dims != 4 || blob.type() != CV_32F || !blob.isContinuous())
    throw InvalidArgument("Net::forward needs a continuous N x C x H x W float blob");
  Plan& p = impl_->planFor({{blob.size[0], blob.size[1], blob.size[2], blob.size[3]}});
  detail::Buffer& in = p.bufs[std::size_t(p.inputs[0])];
  detail::Buffer& ob = p.bufs[std::size_t(p.outputs[0])];
  const Dims od = ob.md.dims();
  const std::vector<int> sizes(od.begin(), od.end());
  out.create(int(sizes.size()), sizes.data(), CV_32F);  // kept when its shape is already right
  if (!out.isContinuous()) {
    out.release();
    out.create(int(sizes.size()), sizes.data(), CV_32F);
  }
  in.mem.set_data_handle(const_cast<float*>(blob.ptr<float>()));  // read only
  ob.mem.set_data_handle(out.ptr<float>());
  impl_->run(p);
}

std::vector<onnx::Tensor> Net::forward(const std::vector<onnx::Tensor>& inputs) {
  const detail::Program& prog = impl_->prog;
  if (inputs.size() != prog.inputs.size())
    throw InvalidArgument(impl_->where() + " has " + std::to_string(prog.inputs.size()) +
                          " inputs, got " + std::to_string(inputs.size()));
  std::vector<Dims> key;
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    const onnx::Tensor& t = inputs[k];
    if (t.type != int(onnx::DataType::Float) || int64_t(t.data.size()) != t.count())
      throw InvalidArgument("input '" + prog.inputs[k] + "' is not a float tensor of " +
                            detail::dimsStr(t.dims) + " values");
    key.push_back(t.dims);
  }
  Plan& p = impl_->planFor(key);
  for (std::size_t k = 0; k < inputs.size(); ++k)
    p.bufs[std::size_t(p.inputs[k])].mem.set_data_handle(
        const_cast<float*>(inputs[k].data.data()));  // read only
  std::vector<onnx::Tensor> outs(prog.outputs.size());
  for (std::size_t k = 0; k < outs.size(); ++k) {
    detail::Buffer& b = p.bufs[std::size_t(p.outputs[k])];
    outs[k].name = prog.outputs[k];
    outs[k].dims = b.md.dims();
    outs[k].data.resize(std::size_t(outs[k].count()));
    b.mem.set_data_handle(outs[k].data.data());
  }
  impl_->run(p);
  return outs;
}

std::size_t Net::cachedShapes() const { return impl_->plans.size(); }

std::vector<std::string> Net::implementations() const {
  std::vector<std::string> v;
  if (!impl_->last) return v;
  for (const detail::Step& s : impl_->last->steps)
    if (!s.host) v.push_back(s.info.node + ": " + s.info.op + " " + s.info.impl);
  return v;
}

bool Net::usesReference() const {
  if (!impl_->last) return false;
  for (const detail::Step& s : impl_->last->steps)
    if (s.info.impl.rfind("ref", 0) == 0) return true;
  return false;
}

double Net::flopsPerForward() const { return impl_->last ? impl_->last->flops : 0.0; }

void Net::calibrate(const cv::Mat& blob, Ranges& ranges) {
  if (impl_->prog.inputs.size() != 1)
    throw InvalidArgument("Net::calibrate needs a graph of one input");
  if (blob.dims != 4 || blob.type() != CV_32F || !blob.isContinuous())
    throw InvalidArgument("Net::calibrate needs a continuous N x C x H x W float blob");
  Options o;  // f32, every op on its own, every value kept
  o.fuse = false;
  o.threads = impl_->threads;
  omp_set_num_threads(impl_->threads);
  std::unique_ptr<Plan> p;
  try {
    p = detail::buildPlan(impl_->prog, impl_->graph,
                          {{blob.size[0], blob.size[1], blob.size[2], blob.size[3]}}, o, impl_->eng,
                          impl_->strm, true);
  } catch (const dnnl::error& e) {
    throw Error("oneDNN cannot build " + impl_->where() + " for calibration: " + e.what());
  }
  p->bufs[std::size_t(p->inputs[0])].mem.set_data_handle(const_cast<float*>(blob.ptr<float>()));
  std::vector<std::vector<float>> outs(p->outputs.size());
  for (std::size_t k = 0; k < outs.size(); ++k) {
    detail::Buffer& b = p->bufs[std::size_t(p->outputs[k])];
    outs[k].resize(b.md.get_size() / sizeof(float));
    b.mem.set_data_handle(outs[k].data());
  }
  Plan* keep = impl_->last;
  impl_->run(*p);
  impl_->last = keep;
  for (const auto& [name, id] : p->values) {
    const detail::Buffer& b = p->bufs[std::size_t(id)];
    const dnnl::memory::desc plain = detail::plainMd(b.md.dims());
    dnnl::memory from = b.mem;
    if (b.kind == detail::Buffer::Kind::Temp)
      from = dnnl::memory(b.md, impl_->eng, p->slots[std::size_t(b.slot)].get_data_handle());
    if (!from) continue;
    dnnl::memory to(plain, impl_->eng);
    dnnl::reorder(from, to).execute(impl_->strm, from, to);
    impl_->strm.wait();
    const float* v = static_cast<const float*>(to.get_data_handle());
    const std::size_t n = plain.get_size() / sizeof(float);
    if (n == 0) continue;
    const auto [lo, hi] = std::minmax_element(v, v + n);
    auto it = ranges.find(name);
    if (it == ranges.end())
      ranges[name] = {*lo, *hi};
    else
      it->second = {std::min(it->second.first, *lo), std::max(it->second.second, *hi)};
  }
}

#else  // built without oneDNN: Net cannot be made, so its other members are never reached

struct Net::Impl {
  Options o;
  std::vector<LayerTime> profile;
};

Net::Net(const onnx::Graph& g, const Options& o) {
  (void)g;
  (void)o;
  throw Unsupported(
      "this cae was built without oneDNN (meson option 'onednn'; Debian: libdnnl-dev)");
}

cv::Mat Net::forward(const cv::Mat& blob) { return blob; }
void Net::forward(const cv::Mat& blob, cv::Mat& out) { out = blob; }
std::vector<onnx::Tensor> Net::forward(const std::vector<onnx::Tensor>& inputs) { return inputs; }
std::size_t Net::cachedShapes() const { return 0; }
std::vector<std::string> Net::implementations() const { return {}; }
bool Net::usesReference() const { return false; }
double Net::flopsPerForward() const { return 0; }
void Net::calibrate(const cv::Mat& blob, Ranges& ranges) {
  (void)blob;
  (void)ranges;
}

#endif

Net::~Net() = default;
const Options& Net::options() const { return impl_->o; }
const std::vector<LayerTime>& Net::profile() const { return impl_->profile; }

}  // namespace cae::infer::onednn
