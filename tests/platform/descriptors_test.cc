#include "platform/descriptors.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include "support/descriptor_exhaustion.h"

namespace corvee {
namespace {

TEST(Descriptors, TheLimitIsTheSoftLimit) {
  struct rlimit limit {};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  std::optional<std::uint64_t> got = openDescriptorLimit();
  if (limit.rlim_cur == RLIM_INFINITY) {
    EXPECT_FALSE(got.has_value());
  } else {
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, static_cast<std::uint64_t>(limit.rlim_cur));
  }
}

TEST(Descriptors, TheSpareFreesOneDescriptorWhenNoneIsLeft) {
  SpareDescriptor spare;
  EXPECT_FALSE(spare.held());
  ASSERT_TRUE(spare.reserve());
  ASSERT_TRUE(spare.reserve()) << "reserving again keeps the one it holds";
  {
    testing::DescriptorExhaustion exhaustion;
    ASSERT_TRUE(exhaustion.exhausted());
    EXPECT_LT(::open("/dev/null", O_RDONLY | O_CLOEXEC), 0) << "nothing is left";
    spare.release();
    EXPECT_FALSE(spare.held());
    int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    EXPECT_GE(fd, 0) << "the spare's descriptor was free for this";
    EXPECT_FALSE(spare.reserve()) << "and none is left to take the spare back";
    if (fd >= 0) ::close(fd);
    EXPECT_TRUE(spare.reserve()) << "until one is closed";
  }
  spare.release();
  EXPECT_FALSE(spare.held());
}

}  // namespace
}  // namespace corvee
