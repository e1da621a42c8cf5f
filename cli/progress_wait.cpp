#include "progress_wait.hpp"

#include "output.hpp"

namespace cli {

void wait_with_progress(sharedserver::Context &ctx, const std::string &name, int64_t timeout_ms) {
    if (!progress_enabled()) {
        ctx.wait(name, timeout_ms);
        return;
    }
    Spinner spinner(name);
    try {
        ctx.wait(name, timeout_ms, [&](int64_t elapsed, const std::string &line) { spinner.update(elapsed, line); });
    } catch (...) {
        spinner.finish();
        throw;
    }
    spinner.finish();
}

}  // namespace cli
