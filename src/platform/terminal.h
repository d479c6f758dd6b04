// Whether the standard streams are terminals: the CLI asks before destructive commands and prints
// tables only to a person, and JSON lines to a program.
#pragma once

namespace corvee {

// True when standard input is a terminal (a person could answer a question).
bool stdinIsTerminal();
// True when standard output is a terminal (a person reads what is printed).
bool stdoutIsTerminal();

}  // namespace corvee
