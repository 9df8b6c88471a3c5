import { BaseError, type BaseErrorOptions } from "../errors";

/**
 * TASK_BAD_PARAMS: a loop or group was configured with values it cannot run with (a negative
 * interval, maxMs below initialMs, two loops of one name in a group).
 * TASK_NON_ERROR_THROWN: a task's run() threw something that is not an Error; the thrown value
 * is kept as `cause` so logs and status still get a message.
 */
export type TaskErrorCode = "TASK_BAD_PARAMS" | "TASK_NON_ERROR_THROWN";

export class TaskError extends BaseError {
  override name = "TaskError" as const;
  constructor(code: TaskErrorCode, shortMessage: string, options?: BaseErrorOptions) {
    super(code, shortMessage, options);
  }
}
