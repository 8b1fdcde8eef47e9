// MESSAGE frames (type 0x20, docs/serial.md) against protocol/vectors/message.json: the C++ encoder
// writes the TypeScript reference's frames byte for byte, and the assembler rebuilds the messages
// with protocol/serial/message.ts's drop rules without ever writing past its buffer.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "json.h"
#include "zkmeter.h"

using namespace zkmtest;

namespace {

struct Case {
  std::string name;
  uint8_t id;
  std::string topic;
  std::vector<uint8_t> payload;
  std::vector<std::vector<uint8_t>> frames;  // complete link frames
};

std::vector<Case> loadCases() {
  Json v = loadVectors("message.json");
  EXPECT_EQ(v["type"].u64(), zkm::LINK_MESSAGE);
  std::vector<Case> cases;
  for (const Json &c : v["cases"].items) {
    Case x;
    x.name = c["name"].str();
    x.id = (uint8_t)c["id"].u64();
    x.topic = c["topic"].str();
    x.payload = fromHex(c["payload"].str());
    for (const Json &f : c["frames"].items) x.frames.push_back(fromHex(f.str()));
    cases.push_back(x);
  }
  return cases;
}

// The frame payloads (id ‖ index ‖ count ‖ chunk) of a case, as a LinkDecoder yields them.
std::vector<std::vector<uint8_t>> decodeFrames(const Case &c) {
  zkm::LinkDecoder d;
  std::vector<std::vector<uint8_t>> out;
  for (const auto &f : c.frames) {
    for (uint8_t b : f) {
      if (d.push(b)) {
        EXPECT_EQ(d.type(), zkm::LINK_MESSAGE);
        out.emplace_back(d.payload(), d.payload() + d.length());
      }
    }
  }
  EXPECT_EQ(out.size(), c.frames.size()) << c.name;
  return out;
}

void expectMessage(const zkm::MessageAssembler &a, const Case &c) {
  EXPECT_EQ(std::string(a.topic(), a.topicLength()), c.topic) << c.name;
  EXPECT_EQ(std::vector<uint8_t>(a.payload(), a.payload() + a.payloadLength()), c.payload) << c.name;
}

}  // namespace

TEST(Message, CoversTheRequiredShapes) {
  std::vector<Case> cases = loadCases();
  bool sensor = false, maximal = false, topicOnly = false;
  for (const Case &c : cases) {
    sensor |= c.topic.size() > 7 && c.topic.compare(c.topic.size() - 7, 7, "/SENSOR") == 0;
    maximal |= c.payload.size() == zkm::MESSAGE_MAX_PAYLOAD;
    topicOnly |= c.payload.empty();
  }
  EXPECT_TRUE(sensor && maximal && topicOnly);
}

TEST(Message, EncodesEveryVectorFrame) {
  for (const Case &c : loadCases()) {
    uint8_t count = zkm::messageFrameCount(c.topic.c_str(), (uint16_t)c.payload.size());
    ASSERT_EQ(count, c.frames.size()) << c.name;
    for (uint8_t i = 0; i < count; i++) {
      uint8_t out[zkm::LINK_MAX_FRAME];
      uint8_t n = zkm::messageEncodeFrame(c.id, c.topic.c_str(), c.payload.data(),
                                          (uint16_t)c.payload.size(), i, out);
      EXPECT_EQ(std::vector<uint8_t>(out, out + n), c.frames[i]) << c.name << " frame " << (int)i;
    }
    uint8_t out[zkm::LINK_MAX_FRAME];
    EXPECT_EQ(zkm::messageEncodeFrame(c.id, c.topic.c_str(), c.payload.data(), (uint16_t)c.payload.size(),
                                      count, out),
              0);
  }
}

TEST(Message, RefusesWhatCannotBeFramed) {
  static uint8_t payload[zkm::MESSAGE_MAX_PAYLOAD + 1];
  EXPECT_EQ(zkm::messageFrameCount("", 0), 0);
  EXPECT_EQ(zkm::messageFrameCount("tele/+/SENSOR", 1), 0);
  EXPECT_EQ(zkm::messageFrameCount("tele/#", 1), 0);
  EXPECT_EQ(zkm::messageFrameCount("tele x", 1), 0);
  EXPECT_EQ(zkm::messageFrameCount(std::string(256, 'a').c_str(), 1), 0);
  EXPECT_EQ(zkm::messageFrameCount(std::string(255, 'a').c_str(), zkm::MESSAGE_MAX_PAYLOAD),
            zkm::MESSAGE_MAX_FRAGMENTS);
  EXPECT_EQ(zkm::messageFrameCount("t", zkm::MESSAGE_MAX_PAYLOAD + 1), 0);
  uint8_t out[zkm::LINK_MAX_FRAME];
  EXPECT_EQ(zkm::messageEncodeFrame(0, "t", payload, zkm::MESSAGE_MAX_PAYLOAD + 1, 0, out), 0);
}

TEST(Message, AssemblesEveryVector) {
  static uint8_t buf[zkm::MESSAGE_MAX_BYTES];
  zkm::MessageAssembler a(buf, sizeof(buf));
  for (const Case &c : loadCases()) {
    std::vector<std::vector<uint8_t>> frames = decodeFrames(c);
    for (size_t i = 0; i < frames.size(); i++) {
      bool done = a.push(frames[i].data(), (uint8_t)frames[i].size());
      EXPECT_EQ(done, i + 1 == frames.size()) << c.name << " fragment " << i;
    }
    expectMessage(a, c);
  }
  EXPECT_EQ(a.dropped(), 0);
}

TEST(Message, DropsAMessageWithAMissingOrReorderedFragment) {
  static uint8_t buf[zkm::MESSAGE_MAX_BYTES];
  zkm::MessageAssembler a(buf, sizeof(buf));
  std::vector<Case> cases = loadCases();
  const Case &c = cases[0];  // the SENSOR message, several fragments
  std::vector<std::vector<uint8_t>> f = decodeFrames(c);
  ASSERT_GE(f.size(), 3u);
  auto feed = [&](const std::vector<size_t> &order) {
    bool done = false;
    for (size_t i : order) done = a.push(f[i].data(), (uint8_t)f[i].size());
    return done;
  };
  std::vector<size_t> all;
  for (size_t i = 0; i < f.size(); i++) all.push_back(i);

  // A middle fragment missing: dropped at the gap, the rest never completes.
  std::vector<size_t> missing = all;
  missing.erase(missing.begin() + 1);
  EXPECT_FALSE(feed(missing));
  EXPECT_GE(a.dropped(), 1);
  // The next good message still arrives.
  uint16_t before = a.dropped();
  EXPECT_TRUE(feed(all));
  expectMessage(a, c);
  EXPECT_EQ(a.dropped(), before);

  // Two fragments swapped.
  std::vector<size_t> swapped = all;
  std::swap(swapped[1], swapped[2]);
  before = a.dropped();
  EXPECT_FALSE(feed(swapped));
  EXPECT_GT(a.dropped(), before);

  // The last fragment missing, then a new message: the unfinished one is abandoned and counted.
  std::vector<size_t> truncated(all.begin(), all.end() - 1);
  before = a.dropped();
  EXPECT_FALSE(feed(truncated));
  EXPECT_EQ(a.dropped(), before);
  EXPECT_TRUE(feed(all));
  EXPECT_EQ(a.dropped(), before + 1);
  expectMessage(a, c);

  // The first fragment missing: nothing starts.
  std::vector<size_t> headless(all.begin() + 1, all.end());
  before = a.dropped();
  EXPECT_FALSE(feed(headless));
  EXPECT_GT(a.dropped(), before);

  // A fragment of another message id in the middle.
  std::vector<uint8_t> foreign = f[1];
  foreign[0] ^= 1;
  before = a.dropped();
  EXPECT_FALSE(a.push(f[0].data(), (uint8_t)f[0].size()));
  EXPECT_FALSE(a.push(foreign.data(), (uint8_t)foreign.size()));
  EXPECT_EQ(a.dropped(), before + 1);

  // A short fragment that is not the last one.
  before = a.dropped();
  EXPECT_FALSE(a.push(f[0].data(), (uint8_t)f[0].size()));
  EXPECT_FALSE(a.push(f[1].data(), (uint8_t)(f[1].size() - 1)));
  EXPECT_EQ(a.dropped(), before + 1);

  // Malformed headers: too short, count 0, index ≥ count.
  const uint8_t shortFrame[] = {1, 0, 1};
  const uint8_t zeroCount[] = {1, 0, 0, 'x'};
  const uint8_t badIndex[] = {1, 2, 2, 'x'};
  before = a.dropped();
  EXPECT_FALSE(a.push(shortFrame, sizeof(shortFrame)));
  EXPECT_FALSE(a.push(zeroCount, sizeof(zeroCount)));
  EXPECT_FALSE(a.push(badIndex, sizeof(badIndex)));
  EXPECT_EQ(a.dropped(), before + 3);
}

TEST(Message, NeverWritesPastItsBuffer) {
  std::vector<Case> cases = loadCases();
  const Case *largest = &cases[0];
  for (const Case &c : cases)
    if (c.frames.size() > largest->frames.size()) largest = &c;
  std::vector<std::vector<uint8_t>> f = decodeFrames(*largest);
  // A buffer smaller than the message, guarded by canaries on both sides.
  const uint16_t cap = 1000;
  std::vector<uint8_t> mem(cap + 64, 0xA5);
  zkm::MessageAssembler a(mem.data() + 32, cap);
  bool done = false;
  for (const auto &frame : f) done |= a.push(frame.data(), (uint8_t)frame.size());
  EXPECT_FALSE(done);
  EXPECT_GE(a.dropped(), 1);  // the overflowing fragment, then every orphan after it
  for (size_t i = 0; i < 32; i++) {
    EXPECT_EQ(mem[i], 0xA5);
    EXPECT_EQ(mem[32 + cap + i], 0xA5);
  }
  // Exactly the message's size is enough.
  size_t size = 1 + largest->topic.size() + largest->payload.size();
  std::vector<uint8_t> exact(size + 1, 0x5A);
  zkm::MessageAssembler b(exact.data(), (uint16_t)size);
  done = false;
  for (const auto &frame : f) done = b.push(frame.data(), (uint8_t)frame.size());
  EXPECT_TRUE(done);
  expectMessage(b, *largest);
  EXPECT_EQ(exact[size], 0x5A);
}
