// ParamGroup: the parameters of one optimizer group in one contiguous buffer, with their gradients
// and Adam moments in three more buffers of the same layout (as llm.c does): one Adam launch per
// group, one memset to zero the gradients, and a checkpoint is a table of offsets.
#pragma once
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace im {

class ParamGroup {
 public:
  struct Entry {
    std::string name;
    Shape shape;
    int64_t offset = 0;
    Tensor param;
  };

  explicit ParamGroup(std::string name) : name_(std::move(name)) {}
  ParamGroup(const ParamGroup&) = delete;
  ParamGroup& operator=(const ParamGroup&) = delete;

  // Declares a parameter; its memory exists once finalize() has run.
  Tensor add(const std::string& name, const Shape& shape);
  // Allocates the four buffers on dev (zeros) and binds every parameter and gradient to them.
  // optimizer_state false: the parameters only (inference; a gradient, if one is ever taken, is
  // then allocated per parameter), so a loaded model does not touch three more buffers' pages.
  void finalize(Device dev, bool optimizer_state = true);
  bool has_optimizer_state() const { return m_.defined(); }
  bool finalized() const { return params_.defined(); }
  // Moves all four buffers (and the views) to dev.
  void to(Device dev);
  Device device() const { return params_.device(); }

  const std::string& name() const { return name_; }
  const std::vector<Entry>& entries() const { return entries_; }
  const Entry* find(const std::string& name) const;
  int64_t numel() const { return total_; }

  Tensor& params() { return params_; }
  Tensor& grads() { return grads_; }
  Tensor& adam_m() { return m_; }
  Tensor& adam_v() { return v_; }
  int64_t adam_step = 0;

  void zero_grad();
  // Frozen parameters still pass gradients to their inputs but accumulate none themselves.
  void set_requires_grad(bool on);

 private:
  void bind();
  std::string name_;
  std::vector<Entry> entries_;
  int64_t total_ = 0;
  Tensor params_, grads_, m_, v_;
};

}  // namespace im
