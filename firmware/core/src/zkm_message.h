// MQTT-equivalent messages over the serial link (docs/serial.md "The MESSAGE frame"), the C++ side
// of protocol/serial/message.ts. A message is `topicLen (1) ‖ topic (ASCII) ‖ payload (≤ 4096)`,
// cut into MESSAGE frames (type 0x20) whose payload is `id (1) ‖ index (1) ‖ count (1) ‖ chunk`
// with 45-byte chunks (the last one shorter), so every frame fits the link's 48-byte limit.
// The ESP8266 uses it for a meter wired to the node by USB; the UNO does not, so it compiles to
// nothing on AVR (ZKM_WITH_MESSAGES, zkm_config.h).
#ifndef ZKM_MESSAGE_H
#define ZKM_MESSAGE_H
#include <stdint.h>
#include <string.h>

#include "zkm_config.h"
#include "zkm_link.h"

#if ZKM_WITH_MESSAGES
namespace zkm {

static const uint8_t LINK_MESSAGE = 0x20;
static const uint8_t MESSAGE_HEADER = 3;
static const uint8_t MESSAGE_CHUNK = LINK_MAX_PAYLOAD - MESSAGE_HEADER;  // 45
static const uint16_t MESSAGE_MAX_TOPIC = 255;
static const uint16_t MESSAGE_MAX_PAYLOAD = 4096;
// Topic length byte, the longest topic and the largest payload: what an assembler buffer needs.
static const uint16_t MESSAGE_MAX_BYTES = 1 + MESSAGE_MAX_TOPIC + MESSAGE_MAX_PAYLOAD;  // 4352
static const uint8_t MESSAGE_MAX_FRAGMENTS =
    (uint8_t)((MESSAGE_MAX_BYTES + MESSAGE_CHUNK - 1) / MESSAGE_CHUNK);  // 97

// Number of MESSAGE frames for (topic, payload), or 0 if the message cannot be framed: topic empty,
// longer than 255, not printable ASCII or with a + or # wildcard, or payload over 4096 bytes.
uint8_t messageFrameCount(const char *topic, uint16_t payloadLen);

// Writes fragment `index` (0 … count−1) of message `id` as a complete link frame (0x7E … CRC) to out
// and returns its length, or 0 if the message cannot be framed or index is out of range. Needs no
// buffer for the whole message: the sender writes the frames back to back, index 0 first.
uint8_t messageEncodeFrame(uint8_t id, const char *topic, const uint8_t *payload, uint16_t payloadLen,
                           uint8_t index, uint8_t out[LINK_MAX_FRAME]);

// Rebuilds messages from MESSAGE frames with the drop rules of protocol/serial/message.ts: one
// message in progress; index 0 starts a new one (abandoning an unfinished one); any other fragment
// must carry the same id and count and the next index; every fragment but the last must be full.
// Anything else drops the message in progress. The caller provides the buffer (MESSAGE_MAX_BYTES
// for every message the node may send); a message that would not fit is dropped, never written
// past the buffer.
class MessageAssembler {
 public:
  MessageAssembler(uint8_t *buffer, uint16_t capacity)
      : buf_(buffer), cap_(capacity), fill_(0), id_(0), count_(0), next_(0), dropped_(0) {}
  // Feeds the payload of one MESSAGE frame (LinkDecoder::payload(), length()); returns true when it
  // completes a message, readable through topic()/payload() until the next push or reset.
  bool push(const uint8_t *frame, uint8_t len);
  // Forgets the message in progress without counting it (the port went away).
  void reset() {
    fill_ = 0;
    next_ = 0;
    count_ = 0;
  }
  const char *topic() const { return (const char *)buf_ + 1; }  // not NUL-terminated
  uint8_t topicLength() const { return buf_[0]; }
  const uint8_t *payload() const { return buf_ + 1 + buf_[0]; }
  uint16_t payloadLength() const { return (uint16_t)(fill_ - 1 - buf_[0]); }
  // Messages abandoned: a fragment missing, out of order or malformed, or one too large.
  uint16_t dropped() const { return dropped_; }

 private:
  bool drop();
  uint8_t *buf_;
  uint16_t cap_;
  uint16_t fill_;
  uint8_t id_;
  uint8_t count_;
  uint8_t next_;  // fragments received of the message in progress
  uint16_t dropped_;
};

}  // namespace zkm
#endif
#endif
