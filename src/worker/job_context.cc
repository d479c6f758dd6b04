#include "corvee/worker.h"

namespace corvee {

void JobContext::onCancel(std::function<void()> hook) {
  std::unique_lock lock(mutex_);
  if (cancelled()) {
    lock.unlock();
    hook();
    return;
  }
  cancel_hook_ = std::move(hook);
}

void JobContext::cancel() {
  std::function<void()> hook;
  {
    std::lock_guard lock(mutex_);
    if (cancelled_.exchange(true)) return;
    hook.swap(cancel_hook_);
  }
  if (hook) hook();
}

}  // namespace corvee
