/**
 * Per agent: a task to come back to, by key. The task it paused for input in each case (correlation
 * id → A2A task id): the next message of that case, its own retry included, continues the task
 * instead of opening another; any other answer, or a failed call, forgets it. And the task still
 * running when a try gave up (message id → task id): the retry asks for it. Bounded, oldest first
 * out, so keys that never come back cannot grow it without end; a forgotten task only means a new one.
 */
export type WaitingTasks = {
  get(correlationid: string): string | undefined;
  set(correlationid: string, taskId: string): void;
  delete(correlationid: string): void;
};

export function createWaitingTasks(max = 1000): WaitingTasks {
  const tasks = new Map<string, string>();
  return {
    get: (correlationid) => tasks.get(correlationid),
    set(correlationid, taskId) {
      tasks.delete(correlationid);
      tasks.set(correlationid, taskId);
      if (tasks.size > max) tasks.delete(tasks.keys().next().value as string);
    },
    delete(correlationid) {
      tasks.delete(correlationid);
    },
  };
}
