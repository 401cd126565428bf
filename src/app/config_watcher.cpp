#include "app/config_watcher.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace sg::app {

namespace asio = boost::asio;

struct ConfigWatcher::State : std::enable_shared_from_this<ConfigWatcher::State> {
  State(asio::io_context& context, std::string f, std::function<void()> c, std::chrono::milliseconds s)
      : file(std::move(f)), changed(std::move(c)), settle(s), descriptor(context), timer(context) {}

  std::string file;
  std::string dir, name;
  std::function<void()> changed;
  std::chrono::milliseconds settle;
  asio::posix::stream_descriptor descriptor;
  asio::steady_timer timer;
  alignas(inotify_event) std::array<char, 8192> buffer{};
  bool stopped = false;

  void read() {
    descriptor.async_read_some(asio::buffer(buffer), [self = shared_from_this()](boost::system::error_code ec, size_t n) {
      if (ec || self->stopped) return;
      bool relevant = false;
      for (size_t at = 0; at + sizeof(inotify_event) <= n;) {
        const auto* e = reinterpret_cast<const inotify_event*>(self->buffer.data() + at);
        std::string_view entry = e->len ? std::string_view(e->name) : std::string_view();
        // `..data` and `..2024_..` are the Kubernetes ConfigMap entries; the file itself is a symlink through them.
        if (entry == self->name || entry.starts_with("..") || (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF)))
          relevant = true;
        at += sizeof(inotify_event) + e->len;
      }
      if (relevant) self->arm();
      self->read();
    });
  }

  void arm() {
    timer.expires_after(settle);
    timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec && !self->stopped) self->changed();
    });
  }
};

ConfigWatcher::ConfigWatcher(asio::io_context& context, std::string file, std::function<void()> changed,
                             std::chrono::milliseconds settle)
    : state_(std::make_shared<State>(context, std::move(file), std::move(changed), settle)) {}

ConfigWatcher::~ConfigWatcher() = default;

Status ConfigWatcher::start() {
  std::filesystem::path path = std::filesystem::absolute(state_->file);
  state_->dir = path.parent_path().string();
  state_->name = path.filename().string();
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return make_error(std::string("inotify: ") + std::strerror(errno));
  constexpr uint32_t kMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB |
                             IN_DELETE_SELF | IN_MOVE_SELF;
  if (::inotify_add_watch(fd, state_->dir.c_str(), kMask) < 0) {
    std::string why = std::strerror(errno);
    ::close(fd);
    return make_error("inotify: cannot watch " + state_->dir + ": " + why);
  }
  state_->descriptor.assign(fd);
  state_->read();
  return Ok{};
}

void ConfigWatcher::stop() {
  state_->stopped = true;
  boost::system::error_code ec;
  state_->timer.cancel();
  state_->descriptor.close(ec);
}

}  // namespace sg::app
