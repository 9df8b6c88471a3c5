export { packFill, unpackFill, encodeBatch, compareOrders, BatchEncodingError, type Fill, type EncodedBatch } from "./batchEncoding";
