// Temporary files that must not outlive an interrupted process: a plan being compiled is written
// to `<plan>.partial.<pid>...` and renamed into place when complete; if SIGINT, SIGTERM, SIGHUP or SIGQUIT ends the process
// first, the handler installed here deletes the partial file, so nothing half-written is left on
// disk. Then the signal takes its default action (the exit status still says "killed by SIGINT").
#pragma once

#include <string>

namespace r1vk {

// Installs the SIGINT/SIGTERM/SIGHUP/SIGQUIT handler (the CLI does, once, at start). Handlers installed later
// (e.g. chat's Ctrl-C) replace it for their signal.
void remove_temp_files_on_signals();

// Registers `path` for removal on a signal; returns a slot for unregister_temp_file, or -1 when
// every slot is taken or the path is too long (the file is then just not cleaned up).
int register_temp_file(const std::string& path);
void unregister_temp_file(int slot);

// Removes every registered file now, for a process about to end by std::_Exit without the
// handler running (r1vk serve takes its signals with sigwait on a thread of its own).
void remove_temp_files_now();

}  // namespace r1vk
