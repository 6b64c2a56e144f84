// torch.save files that Python wrote (Debian's /usr/bin/python3 with python3-torch, at test time:
// make_torch_save_files.py) read back as PyTorch holds them: OrderedDict and plain state dicts,
// PySlowFast checkpoints with their optimizer state, protocol 4, parameters, views and every
// dtype, and ZIP64 records. Without that Python the cases report themselves skipped.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/skip_test_case.hpp"
#include "temporary_folder.hpp"
#include "train/pyslowfast_weights.hpp"
#include "train/torch_save_file.hpp"

using namespace multigrid::reference;
using namespace multigrid::reference::testing;

namespace {

// Writes the files into `folder`; false (the case skipped) without Python's torch.
bool make_python_files(const temporary_folder& folder) {
  if (std::system("/usr/bin/python3 -c 'import torch' > /dev/null 2>&1") != 0) {
    multigrid::testing::skip_test_case(
        "/usr/bin/python3 with torch (Debian's python3-torch) is missing");
    return false;
  }
  const std::string command = "/usr/bin/python3 " MULTIGRID_SOURCE_DIR
                              "/tests/train/make_torch_save_files.py " +
                              folder.path();
  REQUIRE(std::system(command.c_str()) == 0);
  return true;
}

nlohmann::json expected_tensors(const temporary_folder& folder, const std::string& name) {
  std::ifstream file(folder.file(name + ".json"));
  return nlohmann::json::parse(file);
}

torch::ScalarType dtype_named(const std::string& name) {
  static const std::map<std::string, torch::ScalarType> types = {
      {"float64", torch::kDouble},    {"float32", torch::kFloat}, {"float16", torch::kHalf},
      {"bfloat16", torch::kBFloat16}, {"int64", torch::kLong},    {"int32", torch::kInt},
      {"int16", torch::kShort},       {"int8", torch::kChar},     {"uint8", torch::kByte},
      {"bool", torch::kBool}};
  return types.at(name);
}

// `tensor` has the dtype, shape and values Python described.
void check_tensor(const std::string& name, const torch::Tensor& tensor,
                  const nlohmann::json& expected) {
  CAPTURE(name);
  CHECK(std::string(c10::toString(tensor.scalar_type())) ==
        c10::toString(dtype_named(expected.at("dtype").get<std::string>())));
  CHECK(tensor.sizes().vec() == expected.at("shape").get<std::vector<std::int64_t>>());
  const auto flat = tensor.reshape({-1});
  if (tensor.is_floating_point()) {
    const auto values = flat.to(torch::kDouble).contiguous();
    const std::vector<double> got(values.data_ptr<double>(),
                                  values.data_ptr<double>() + values.numel());
    CHECK(got == expected.at("values").get<std::vector<double>>());
  } else {
    const auto values = flat.to(torch::kLong).contiguous();
    const std::vector<std::int64_t> got(values.data_ptr<std::int64_t>(),
                                        values.data_ptr<std::int64_t>() + values.numel());
    CHECK(got == expected.at("values").get<std::vector<std::int64_t>>());
  }
}

// The dict of tensors a file holds: its "model_state", or the whole of it.
std::map<std::string, torch::Tensor> state_of(torch_save_file& file) {
  const auto& content = file.content();
  const auto* model_state = content.find(content.root_object(), "model_state");
  const auto& dict = model_state ? *model_state : content.root_object();
  REQUIRE(dict.kind == pickle_kind::dict);
  std::map<std::string, torch::Tensor> tensors;
  for (std::size_t i = 0; i < dict.items.size(); i += 2) {
    tensors[content.at(dict.items[i]).text] = file.tensor(content.at(dict.items[i + 1]));
  }
  return tensors;
}

}  // namespace

TEST_CASE("torch.save files of Python read back as PyTorch holds them") {
  temporary_folder folder("torch-save-python");
  if (!make_python_files(folder)) return;
  for (const std::string name : {"pyslowfast", "plain_dict", "bare_state_dict", "protocol4",
                                 "parameters", "views", "dtypes", "zip64"}) {
    CAPTURE(name);
    torch_save_file file(folder.file(name + ".pyth"));
    const auto tensors = state_of(file);
    const auto expected = expected_tensors(folder, name);
    CHECK(tensors.size() == expected.size());
    for (const auto& [key, description] : expected.items()) {
      const auto found = tensors.find(key);
      REQUIRE_MESSAGE(found != tensors.end(), key);
      check_tensor(key, found->second, description);
    }
  }
}

TEST_CASE("a PySlowFast checkpoint loads as weights, and its optimizer state and config parse") {
  temporary_folder folder("torch-save-pyslowfast");
  if (!make_python_files(folder)) return;
  const auto path = folder.file("pyslowfast.pyth");

  // Our names: BN's num_batches_tracked dropped, everything else as saved.
  const auto weights = read_pyslowfast_weights(path);
  const auto expected = expected_tensors(folder, "pyslowfast");
  std::vector<std::string> names;
  for (const auto& [name, tensor] : weights) names.push_back(name);
  CHECK(names == std::vector<std::string>{"bn.bias", "bn.running_mean", "bn.running_var",
                                          "bn.weight", "conv.weight", "head.bias", "head.weight"});
  for (const auto& [name, tensor] : weights) check_tensor(name, tensor, expected.at(name));

  // The rest of the checkpoint is there, as Python saved it.
  torch_save_file file(path);
  const auto& content = file.content();
  const auto& root = content.root_object();
  REQUIRE(content.find(root, "epoch") != nullptr);
  CHECK(content.find(root, "epoch")->integer == 7);
  REQUIRE(content.find(root, "cfg") != nullptr);
  CHECK(content.find(root, "cfg")->text.rfind("TRAIN:\n  BATCH_SIZE: 8\n", 0) == 0);
  const auto* scaler = content.find(root, "scaler_state");
  REQUIRE(scaler != nullptr);
  CHECK(content.find(*scaler, "scale")->floating == 65536.0);
  const auto* optimizer = content.find(root, "optimizer_state");
  REQUIRE(optimizer != nullptr);
  const auto* state = content.find(*optimizer, "state");
  REQUIRE(state != nullptr);
  CHECK(state->items.size() == 2 * 5);  // conv.weight, bn.weight, bn.bias, head.weight, head.bias
  for (std::size_t i = 0; i < state->items.size(); i += 2) {
    CHECK(content.at(state->items[i]).kind == pickle_kind::integer);
    const auto* momentum = content.find(content.at(state->items[i + 1]), "momentum_buffer");
    REQUIRE(momentum != nullptr);
    CHECK(file.tensor(*momentum).defined());
  }
  const auto* groups = content.find(*optimizer, "param_groups");
  REQUIRE(groups != nullptr);
  REQUIRE(groups->kind == pickle_kind::list);
  CHECK(content.find(content.at(groups->items.at(0)), "lr")->floating == 0.1);
}

TEST_CASE("views of one storage read back as views of one storage, as torch.load makes them") {
  temporary_folder folder("torch-save-views");
  if (!make_python_files(folder)) return;
  torch_save_file file(folder.file("views.pyth"));
  const auto tensors = state_of(file);
  const auto& slice = tensors.at("transposed_slice");
  CHECK(slice.strides().vec() == std::vector<std::int64_t>{1, 6});
  CHECK(slice.storage_offset() == 8);
  CHECK(slice.is_alias_of(tensors.at("whole")));
  CHECK(tensors.at("row").is_alias_of(tensors.at("whole")));
  CHECK(tensors.at("expanded").strides().vec() == std::vector<std::int64_t>{1, 0});
}

TEST_CASE("weights we export as .pyth read back") {
  temporary_folder folder("torch-save-export");
  const auto path = folder.file("exported.pyth");
  const state_dict state = {{"conv.weight", torch::randn({4, 2, 1, 3, 3})},
                            {"bn.running_mean", torch::randn({4})},
                            {"head.bias", torch::randn({3}).to(torch::kDouble)}};
  write_pyslowfast_weights(path, to_pyslowfast_names(state), 5);
  CHECK(looks_like_torch_save(path));
  const auto read = read_pyslowfast_weights(path);
  REQUIRE(read.size() == state.size());
  for (const auto& [name, tensor] : state) {
    CAPTURE(name);
    REQUIRE(read.count(name) == 1);
    CHECK(std::string(c10::toString(read.at(name).scalar_type())) ==
          c10::toString(tensor.scalar_type()));
    CHECK(torch::equal(read.at(name), tensor));
  }
}
