// Handing freed heap memory back to the operating system.
#pragma once

namespace corvee {

// Asks the allocator to return free memory to the system (glibc's malloc_trim), so the resident
// size falls after a large purge instead of staying at its high-water mark. It walks the whole
// heap, so call it after purges that freed a lot, not after every free. Does nothing where the
// allocator has no such call.
void releaseFreeMemory();

}  // namespace corvee
