#include "zkm_message.h"

#if ZKM_WITH_MESSAGES
namespace zkm {

static bool topicValid(const char *topic, size_t n) {
  if (n == 0 || n > MESSAGE_MAX_TOPIC) return false;
  for (size_t i = 0; i < n; i++) {
    char c = topic[i];
    if (c < 0x21 || c > 0x7e || c == '+' || c == '#') return false;
  }
  return true;
}

uint8_t messageFrameCount(const char *topic, uint16_t payloadLen) {
  size_t n = strlen(topic);
  if (!topicValid(topic, n) || payloadLen > MESSAGE_MAX_PAYLOAD) return 0;
  size_t total = 1 + n + payloadLen;
  return (uint8_t)((total + MESSAGE_CHUNK - 1) / MESSAGE_CHUNK);
}

uint8_t messageEncodeFrame(uint8_t id, const char *topic, const uint8_t *payload, uint16_t payloadLen,
                           uint8_t index, uint8_t out[LINK_MAX_FRAME]) {
  uint8_t count = messageFrameCount(topic, payloadLen);
  if (count == 0 || index >= count) return 0;
  size_t topicLen = strlen(topic);
  size_t total = 1 + topicLen + payloadLen;
  size_t from = (size_t)index * MESSAGE_CHUNK;
  size_t to = from + MESSAGE_CHUNK < total ? from + MESSAGE_CHUNK : total;
  uint8_t frame[LINK_MAX_PAYLOAD];
  frame[0] = id;
  frame[1] = index;
  frame[2] = count;
  uint8_t at = MESSAGE_HEADER;
  // The message is topicLen ‖ topic ‖ payload; copy the part of it in [from, to).
  for (size_t i = from; i < to; i++) {
    uint8_t b;
    if (i == 0)
      b = (uint8_t)topicLen;
    else if (i <= topicLen)
      b = (uint8_t)topic[i - 1];
    else
      b = payload[i - 1 - topicLen];
    frame[at++] = b;
  }
  return linkEncode(LINK_MESSAGE, frame, at, out);
}

bool MessageAssembler::drop() {
  dropped_++;
  reset();
  return false;
}

bool MessageAssembler::push(const uint8_t *p, uint8_t len) {
  if (len <= MESSAGE_HEADER || len > LINK_MAX_PAYLOAD) return drop();
  uint8_t id = p[0], index = p[1], count = p[2];
  if (count == 0 || count > MESSAGE_MAX_FRAGMENTS || index >= count) return drop();
  if (index == 0) {
    if (next_ > 0) dropped_++;  // an unfinished message is abandoned
    id_ = id;
    count_ = count;
    next_ = 0;
    fill_ = 0;
  } else if (next_ == 0 || id != id_ || count != count_ || index != next_) {
    return drop();
  }
  // Every fragment but the last is full: a short one in the middle means bytes went missing.
  if (index < count - 1 && len != LINK_MAX_PAYLOAD) return drop();
  uint8_t chunk = (uint8_t)(len - MESSAGE_HEADER);
  if ((uint32_t)fill_ + chunk > cap_) return drop();
  memcpy(buf_ + fill_, p + MESSAGE_HEADER, chunk);
  fill_ = (uint16_t)(fill_ + chunk);
  next_++;
  if (next_ < count_) return false;
  // Complete: keep the bytes readable, but no message is in progress any more.
  next_ = 0;
  count_ = 0;
  uint8_t topicLen = buf_[0];
  if (topicLen == 0 || fill_ < 1 + (uint16_t)topicLen) {
    fill_ = 0;
    dropped_++;
    return false;
  }
  for (uint8_t i = 0; i < topicLen; i++) {
    uint8_t c = buf_[1 + i];
    if (c < 0x21 || c > 0x7e) {
      fill_ = 0;
      dropped_++;
      return false;
    }
  }
  return true;
}

}  // namespace zkm
#endif
