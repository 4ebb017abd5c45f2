import type { ListTasksRequest, ListTasksResponse, Task } from '@a2a-js/sdk';
import type { ServerCallContext, TaskStore } from '@a2a-js/sdk/server';

const DEFAULT_PAGE = 50;

/**
 * The tasks of a served agent, per caller (the token's name), so one caller never reads another's.
 * Bounded: past `capacity` tasks the least recently written is forgotten, so a long-running warden
 * does not grow with every call. The ledger, not this store, is the record: a forgotten task's
 * message is still traced by `why`.
 */
export function createBoundedTaskStore(capacity: number): TaskStore {
  const tasks = new Map<string, Task>();
  const keyOf = (id: string, context: ServerCallContext) =>
    `${context.tenant ?? ''}\0${context.user?.userName ?? ''}\0${id}`;
  return {
    async save(task, context) {
      const key = keyOf(task.id, context);
      tasks.delete(key); // re-inserted last: Map order is the eviction order
      tasks.set(key, structuredClone(task));
      if (tasks.size > capacity) tasks.delete(tasks.keys().next().value!);
    },
    async load(id, context) {
      const task = tasks.get(keyOf(id, context));
      return task === undefined ? undefined : structuredClone(task);
    },
    async list(params: ListTasksRequest, context): Promise<ListTasksResponse> {
      const prefix = keyOf('', context);
      const after =
        params.statusTimestampAfter === undefined ? undefined : Date.parse(params.statusTimestampAfter);
      const matching = [...tasks]
        .filter(([key]) => key.startsWith(prefix))
        .map(([, task]) => task)
        .filter((t) => !params.contextId || t.contextId === params.contextId)
        .filter((t) => !params.status || t.status?.state === params.status)
        .filter((t) => after === undefined || Date.parse(t.status?.timestamp ?? '') > after)
        .reverse(); // newest first
      const offset = Number.parseInt(params.pageToken || '0', 10) || 0;
      const pageSize = params.pageSize || DEFAULT_PAGE;
      const page = matching.slice(offset, offset + pageSize).map((task) => {
        const copy = structuredClone(task);
        if (params.includeArtifacts !== true) copy.artifacts = [];
        if (params.historyLength !== undefined) copy.history = copy.history.slice(-params.historyLength || 0);
        return copy;
      });
      const next = offset + pageSize;
      return {
        tasks: page,
        nextPageToken: next < matching.length ? String(next) : '',
        pageSize,
        totalSize: matching.length,
      };
    },
  };
}
