export { encodeHistoryStep, decodeHistoryStep, isCheckpointBody, isCheckpointSeq, HistoryDecoder, HISTORY_CHECKPOINT_EVERY } from './historyCodec.js';
export type { HistoryStep, EncodedHistoryStep, StoredHistoryBody, EncodeHistoryOptions } from './historyCodec.js';
