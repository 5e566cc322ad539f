// winq reports every problem a user can cause (bad files, unsupported ops, wrong
// shapes, bad flags) as a winq::Error with a one-line, self-contained message.
#pragma once
#include <stdexcept>
#include <string>

namespace winq {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A feature that exists in the ONNX standard but not (yet) in winq. Kept apart
// from Error so that conformance runs can count it separately from a failure.
class Unsupported : public Error {
 public:
  using Error::Error;
};

}  // namespace winq
