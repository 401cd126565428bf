#include "record_session/disk_writer.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "app/log.hpp"
#include "record/retention.hpp"

namespace sg::record_session {
namespace {

int64_t unix_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// mkdir -p of the folders above `path`.
int make_parents(const std::string& path) {
  for (size_t i = 1; i < path.size(); ++i) {
    if (path[i] != '/') continue;
    const std::string dir = path.substr(0, i);
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return errno;
  }
  return 0;
}

int write_all(int fd, const std::byte* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return errno;
    if (w == 0) return EIO;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return 0;
}

void fsync_parent(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

std::string root_prefix(const std::string& root) {
  if (root == ".") return "";
  return root.ends_with('/') ? root : root + "/";
}

struct Walk {
  std::vector<std::pair<std::string, int64_t>> files;  // path, mtime us
  std::vector<std::string> dirs;                       // post-order (children before parents)
};

// Regular files below `dir` (symlinks are not followed), at most 8 levels deep.
void walk(const std::string& prefix, const std::string& dir_path, int depth, Walk& out) {
  if (depth > 8) return;
  DIR* d = ::opendir(dir_path.empty() ? "." : dir_path.c_str());
  if (!d) return;
  std::vector<std::string> subdirs;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    const std::string path =
        dir_path.empty() ? name : (dir_path.ends_with('/') ? dir_path + name : dir_path + "/" + name);
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      subdirs.push_back(path);
    } else if (S_ISREG(st.st_mode)) {
      out.files.push_back({path, static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000 + st.st_mtim.tv_nsec / 1000});
    }
  }
  ::closedir(d);
  for (const auto& s : subdirs) {
    walk(prefix, s, depth + 1, out);
    out.dirs.push_back(s);
  }
}

}  // namespace

RecordingSink::RecordingSink(DiskWriter& writer, std::string stream, std::string pattern, size_t max_queue_bytes)
    : writer_(writer), stream_(std::move(stream)), pattern_(std::move(pattern)), max_queue_bytes_(max_queue_bytes) {}

bool RecordingSink::push(record::Chunk chunk) {
  bool episode = false, accepted = false;
  {
    std::lock_guard lk(mu_);
    if (closed_) return false;
    const bool open = chunk.kind == record::Chunk::Kind::Open;
    if (!open && dropping_) {
      ++status_.drops;
    } else if (!queue_.empty() && queued_bytes_ + chunk.data.size() > max_queue_bytes_) {
      ++status_.drops;
      episode = !dropping_;
      dropping_ = true;
      cut_request_.store(true, std::memory_order_release);
    } else {
      if (open) dropping_ = false;
      queued_bytes_ += chunk.data.size();
      queue_.push_back(std::move(chunk));
      accepted = true;
    }
  }
  if (episode) {
    writer_.drop_episodes_.fetch_add(1, std::memory_order_relaxed);
    log::warn("recording: the disk writer is behind, dropping until the next segment",
              {{"stream", stream_}, {"queue_bytes", max_queue_bytes_}});
  }
  if (accepted) writer_.notify();
  return accepted;
}

void RecordingSink::close() {
  {
    std::lock_guard lk(mu_);
    closed_ = true;
  }
  writer_.notify();
}

RecordingStatus RecordingSink::status() const {
  std::lock_guard lk(mu_);
  return status_;
}

DiskWriter::DiskWriter(std::chrono::milliseconds retry_interval) : retry_interval_(retry_interval) {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "sg-record");
    // Below the workers: on a busy box the scheduler runs live forwarding first; the writer catches up in the gaps
    // (its queues absorb seconds of media), so recording costs readers no latency.
    ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10);
    run();
  });
}

DiskWriter::~DiskWriter() { stop(); }

std::shared_ptr<RecordingSink> DiskWriter::add(std::string stream, std::string pattern, size_t max_queue_bytes) {
  auto sink = std::make_shared<RecordingSink>(*this, std::move(stream), std::move(pattern), max_queue_bytes);
  {
    std::lock_guard lk(mu_);
    sinks_.push_back(sink);
    next_disk_sample_ = {};
  }
  notify();
  return sink;
}

void DiskWriter::set_retention(std::vector<RetentionRule> rules, std::chrono::milliseconds interval) {
  {
    std::lock_guard lk(mu_);
    rules_ = std::move(rules);
    retention_interval_ = interval;
    next_retention_ = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  }
  notify();
}

void DiskWriter::stop() {
  {
    std::lock_guard lk(mu_);
    if (stop_ && !thread_.joinable()) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::map<std::string, uint64_t> DiskWriter::disk_free() const {
  std::lock_guard lk(mu_);
  return disk_free_;
}

void DiskWriter::notify() {
  {
    std::lock_guard lk(mu_);
    work_ = true;
  }
  cv_.notify_one();
}

void DiskWriter::run() {
  for (;;) {
    std::vector<std::shared_ptr<RecordingSink>> sinks;
    bool stopping = false;
    {
      std::unique_lock lk(mu_);
      cv_.wait_for(lk, std::chrono::milliseconds(500), [this] { return work_ || stop_; });
      work_ = false;
      stopping = stop_;
      sinks = sinks_;
    }
    for (auto& s : sinks) drain(*s);
    // Forget closed sinks once drained.
    {
      std::lock_guard lk(mu_);
      std::erase_if(sinks_, [](const std::shared_ptr<RecordingSink>& s) {
        std::lock_guard sl(s->mu_);
        return s->closed_ && s->queue_.empty() && s->fd_ < 0;
      });
    }
    const auto now = std::chrono::steady_clock::now();
    for (auto& s : sinks)
      if (s->failed_ && now >= s->retry_at_) {
        s->cut_request_.store(true, std::memory_order_release);  // the next keyframe opens a new file: a retry
        s->retry_at_ = now + retry_interval_;
      }
    bool retention = false, disk = false;
    {
      std::lock_guard lk(mu_);
      if (!rules_.empty() && now >= next_retention_) {
        retention = true;
        next_retention_ = now + retention_interval_;
      }
      if (now >= next_disk_sample_) {
        disk = true;
        next_disk_sample_ = now + std::chrono::seconds(5);
      }
    }
    if (retention) sweep_retention();
    if (disk) sample_disk_free();
    if (stopping) {
      for (auto& s : sinks) close_file(*s);
      return;
    }
  }
}

void DiskWriter::drain(RecordingSink& sink) {
  for (;;) {
    std::deque<record::Chunk> batch;
    bool closed = false;
    {
      std::lock_guard lk(sink.mu_);
      batch.swap(sink.queue_);
      sink.queued_bytes_ = 0;
      closed = sink.closed_;
    }
    if (batch.empty()) {
      if (closed) close_file(sink);
      return;
    }
    for (auto& c : batch) write_chunk(sink, c);
  }
}

void DiskWriter::write_chunk(RecordingSink& sink, record::Chunk& chunk) {
  if (chunk.kind == record::Chunk::Kind::Open) {
    close_file(sink);
    open_file(sink, chunk);
    return;
  }
  if (sink.fd_ < 0) return;  // failed, or the segment's start was dropped: wait for the next segment
  if (int err = write_all(sink.fd_, chunk.data.data(), chunk.data.size()); err != 0)
    return fail(sink, "cannot write", err);
  if (::fdatasync(sink.fd_) != 0) return fail(sink, "cannot sync", errno);
  sink.size_ += static_cast<int64_t>(chunk.data.size());
  const bool resumed = sink.failed_;
  sink.failed_ = false;
  {
    std::lock_guard lk(sink.mu_);
    sink.status_.bytes += chunk.data.size();
    if (resumed) {
      sink.status_.failed = false;
      sink.status_.error.clear();
      sink.status_.file = sink.path_;
    }
  }
  // Resumed once a fragment is on disk again: a header alone may still fit on a nearly full disk.
  if (resumed) log::info("recording resumed", {{"stream", sink.stream_}, {"file", sink.path_}});
}

void DiskWriter::open_file(RecordingSink& sink, const record::Chunk& chunk) {
  const std::string path = record::expand_record_path(sink.pattern_, sink.stream_, chunk.start_us) +
                           std::string(record::extension(chunk.format));
  sink.path_ = path;
  sink.size_ = sink.header_size_ = 0;
  if (int err = make_parents(path); err != 0) return fail(sink, "cannot create the folder of", err);
  sink.fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (sink.fd_ < 0) return fail(sink, "cannot create", errno);
  if (int err = write_all(sink.fd_, chunk.data.data(), chunk.data.size()); err != 0)
    return fail(sink, "cannot write", err);
  if (::fdatasync(sink.fd_) != 0) return fail(sink, "cannot sync", errno);
  fsync_parent(path);  // the new name survives a power loss too
  sink.size_ = sink.header_size_ = static_cast<int64_t>(chunk.data.size());
  {
    std::lock_guard lk(sink.mu_);
    sink.status_.bytes += chunk.data.size();
    ++sink.status_.segments;
    if (!sink.failed_) sink.status_.file = path;
  }
  log::debug("recording segment started", {{"stream", sink.stream_}, {"file", path}});
}

void DiskWriter::close_file(RecordingSink& sink) {
  if (sink.fd_ >= 0) {
    ::close(sink.fd_);
    sink.fd_ = -1;
  }
  std::lock_guard lk(sink.mu_);
  sink.status_.file.clear();
}

void DiskWriter::fail(RecordingSink& sink, const std::string& what, int err) {
  if (sink.fd_ >= 0) {
    // Back to the last whole fragment, so the file stays playable; a file without any fragment goes.
    const bool empty = sink.size_ <= sink.header_size_;
    if (!empty && ::ftruncate(sink.fd_, sink.size_) != 0)
      log::warn("recording: cannot truncate a file back to its last fragment",
                {{"stream", sink.stream_}, {"file", sink.path_}, {"error", std::strerror(errno)}});
    ::close(sink.fd_);
    sink.fd_ = -1;
    if (empty) ::unlink(sink.path_.c_str());
  }
  const std::string error = "recording stopped: " + what + " " + sink.path_ + ": " + std::strerror(err);
  const bool first = !sink.failed_;
  sink.failed_ = true;
  sink.retry_at_ = std::chrono::steady_clock::now() + retry_interval_;
  {
    std::lock_guard lk(sink.mu_);
    ++sink.status_.write_errors;
    sink.status_.failed = true;
    sink.status_.error = error;
    sink.status_.file.clear();
  }
  if (first)
    log::error("recording stopped: cannot write (retrying until it works; live streaming goes on)",
               {{"stream", sink.stream_}, {"error", error}});
}

void DiskWriter::sweep_retention() {
  std::vector<RetentionRule> rules;
  std::set<std::string> open;
  {
    std::lock_guard lk(mu_);
    rules = rules_;
    for (const auto& s : sinks_)
      if (s->fd_ >= 0) open.insert(s->path_);
  }
  std::set<std::string> roots_done;
  std::vector<record::RecordedFile> files;
  std::vector<std::pair<std::string, std::string>> dirs;  // root, dir
  std::set<std::string> seen;
  for (const auto& rule : rules) {
    const std::string root = record::record_root(rule.pattern);
    Walk w;
    walk(root_prefix(root), root == "." ? std::string() : root, 0, w);
    for (const auto& [path, mtime] : w.files) {
      auto parsed = record::parse_record_path(rule.pattern, path);
      if (!parsed || !seen.insert(path).second) continue;
      int64_t max_age = rule.default_max_age_us;
      if (auto it = rule.per_stream.find(parsed->stream); it != rule.per_stream.end()) max_age = it->second;
      if (max_age < 0) continue;
      files.push_back({path, parsed->stream, parsed->start_us, mtime, max_age, open.contains(path)});
    }
    if (roots_done.insert(root).second)
      for (auto& d : w.dirs) dirs.push_back({root, d});
  }
  uint64_t deleted = 0;
  for (const auto& path : record::expired_files(files, unix_us()))
    if (::unlink(path.c_str()) == 0) ++deleted;
  // Empty folders (children first; rmdir refuses non-empty ones); never the root itself.
  for (const auto& [root, dir] : dirs) ::rmdir(dir.c_str());
  if (deleted > 0) {
    files_deleted_.fetch_add(deleted, std::memory_order_relaxed);
    log::info("recording retention: deleted old files", {{"files", deleted}});
  }
}

void DiskWriter::sample_disk_free() {
  std::set<std::string> roots;
  {
    std::lock_guard lk(mu_);
    for (const auto& s : sinks_) roots.insert(record::record_root(s->pattern_));
  }
  std::map<std::string, uint64_t> out;
  for (const auto& r : roots) {
    struct statvfs v {};
    // The root may not exist yet (first segment not written): its nearest existing parent is the volume.
    std::string p = r;
    while (::statvfs(p.c_str(), &v) != 0) {
      if (p.empty() || p == "/" || p == ".") break;
      if (p.ends_with('/')) p.pop_back();
      const size_t slash = p.rfind('/');
      p = slash == std::string::npos ? "." : slash == 0 ? "/" : p.substr(0, slash);
    }
    out[r] = static_cast<uint64_t>(v.f_bavail) * v.f_frsize;
  }
  std::lock_guard lk(mu_);
  disk_free_ = std::move(out);
}

}  // namespace sg::record_session
