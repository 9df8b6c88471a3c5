export { BaseError, jsonSafe, type BaseErrorOptions } from "./BaseError";
