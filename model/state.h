// The model's state as named tensors (parameters, batch-norm buffers, optionally Adam moments),
// aliasing the model's memory: writing into them loads a state. Files are the tools' business.
#pragma once
#include <string>
#include <vector>

#include "model/imunity.h"

namespace im::model {

struct NamedTensor {
  std::string name;
  Tensor tensor;
};

// Parameters by their layer names ("anatomy_encoder.conv0.weight", ...), the discriminator's
// running statistics, and with_optimizer the flat Adam moments of each group
// ("optimizer.<group>.m" / ".v": the group's layout, meaningful to this code only).
std::vector<NamedTensor> state_tensors(ImUnity& model, bool with_optimizer);

struct StateShape {
  std::string name;
  Shape shape;
};
// The names and shapes of state_tensors() for a model of `cfg`, without building it (no memory for
// its parameters). Throws im::Error when cfg is not usable.
std::vector<StateShape> state_shapes(const ModelConfig& cfg, bool with_optimizer);

}  // namespace im::model
