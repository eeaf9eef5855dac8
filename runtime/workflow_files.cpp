#include "runtime/workflow_files.hpp"

#include <filesystem>
#include <fstream>
#include <map>

namespace brokedancer {

namespace {

// The file's text, at most one byte past the bound (enough to say it is too large).
bool read_bounded(const std::string& path, std::string& text, std::string& why) {
  std::error_code error;
  if (std::filesystem::exists(path, error) && !std::filesystem::is_regular_file(path, error)) {
    why = "is not a regular file";
    return false;
  }
  std::ifstream file{path, std::ios::binary};
  if (!file) {
    why = "cannot be read (does it exist, and may this user read it?)";
    return false;
  }
  text.resize(max_workflow_text_bytes + 1);
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(file.gcount()));
  if (file.bad()) {
    why = "could not be read to the end";
    return false;
  }
  return true;
}

} // namespace

workflow_file read_workflow_file(const std::string& path, const node_catalogue& types) {
  workflow_file result;
  std::string text;
  if (!read_bounded(path, text, result.unreadable))
    return result;
  auto parsed = parse_workflow_text(text, types);
  result.workflow = std::move(parsed.workflow);
  result.problems = std::move(parsed.problems);
  return result;
}

std::vector<std::shared_ptr<const workflow_definition>>
load_configured_workflows(const runtime_config& config, const node_catalogue& types) {
  std::vector<std::shared_ptr<const workflow_definition>> loaded;
  std::vector<config_problem> problems;
  std::map<std::string, std::string> file_of; // workflow id -> the file that defined it first
  for (const auto& path : config.workflows.files) {
    auto file = read_workflow_file(path, types);
    if (!file.unreadable.empty()) {
      problems.push_back({"workflow file " + path, "$", file.unreadable});
      continue;
    }
    for (const auto& p : file.problems)
      problems.push_back({"workflow file " + path, p.path, p.message});
    if (!file.workflow)
      continue;
    auto [first, fresh] = file_of.emplace(file.workflow->id, path);
    if (!fresh) {
      problems.push_back({"workflow file " + path, "$.id",
                          "workflow " + escaped_name(file.workflow->id) + " is also defined in "
                              + first->second + ": give each workflow an id of its own"});
      continue;
    }
    loaded.push_back(std::make_shared<const workflow_definition>(std::move(*file.workflow)));
  }
  if (!problems.empty())
    throw config_error(std::move(problems));
  return loaded;
}

} // namespace brokedancer
