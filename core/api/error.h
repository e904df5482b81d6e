// Error and Result: how every core/api entry point reports failure ("never throws").
// Torch-free and Qt-free; app/ and widgets/ turn an ErrorCode into translated text.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace recalign::core {

enum class ErrorCode {
    None,
    InvalidConfig,  // a config or experiment file is wrong; message names the key
    DataLoad,       // a dataset file is missing or malformed; message names file:line
    CheckpointIO,   // a checkpoint or model file cannot be read or written
    Diverged,       // NaN/Inf loss; message names the step
    Cancelled,      // the user stopped the run (not a failure)
    Internal,       // anything else
};

const char* errorCodeName(ErrorCode code);

struct Error {
    ErrorCode code = ErrorCode::None;
    std::string message;  // human-readable, with context ("loading 'x': line 3: ...")
    std::string where;    // optional: file:line, config key or stage

    bool ok() const { return code == ErrorCode::None; }
    explicit operator bool() const { return !ok(); }  // true when there is an error
    std::string toString() const;
};

// A value or an Error. `Result<T> r = f(); if (!r) use(r.error());`
template <typename T>
class Result {
public:
    Result(T value) : m_value(std::move(value)) {}
    Result(Error error) : m_error(std::move(error)) {}
    bool ok() const { return m_value.has_value(); }
    explicit operator bool() const { return ok(); }
    const T& value() const& { return *m_value; }
    T& value() & { return *m_value; }
    // By value from a temporary: `for (auto& x : f().value())` must not refer into a dead Result.
    T value() && { return std::move(*m_value); }
    const Error& error() const { return m_error; }

private:
    std::optional<T> m_value;
    Error m_error;
};

// Thrown inside the core, caught at core/api entry points and converted to Error.
class CoreException : public std::exception {
public:
    CoreException(ErrorCode code, std::string message, std::string where = {})
        : m_error{code, std::move(message), std::move(where)}
    {
    }
    const char* what() const noexcept override { return m_error.message.c_str(); }
    const Error& error() const { return m_error; }

private:
    Error m_error;
};

// Runs `f` and turns any exception into an Error (CoreException keeps its code; others are
// Internal). For use at core/api boundaries.
template <typename F>
Error catchAll(F&& f)
{
    try {
        f();
        return {};
    } catch (const CoreException& e) {
        return e.error();
    } catch (const std::exception& e) {
        return Error{ErrorCode::Internal, e.what(), {}};
    } catch (...) {
        return Error{ErrorCode::Internal, "unknown exception", {}};
    }
}

}  // namespace recalign::core
