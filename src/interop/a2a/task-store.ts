import type { ListTasksRequest, ListTasksResponse, Task } from '@a2a-js/sdk';
import type { ServerCallContext, TaskStore } from '@a2a-js/sdk/server';

const DEFAULT_PAGE = 50;

/**
 * The tasks of a served agent, per caller (the token, by its key), so one caller never reads another's.
 * Bounded per caller: past `perCaller` tasks a caller's least recently written is forgotten, so a
 * long-running warden does not grow with every call, and one busy caller cannot push out another's
 * tasks. The ledger, not this store, is the record: a forgotten task's message is still traced by
 * `why`. Single-tenant: the server refuses any other tenant before a call gets here.
 */
export function createBoundedTaskStore(perCaller: number): TaskStore {
  const byCaller = new Map<string, Map<string, Task>>();
  const tasksOf = (context: ServerCallContext) => {
    // The token's own key when the shell gave one (a name given to a new token later reads nothing).
    const caller = (context.user as { key?: string } | undefined)?.key || (context.user?.userName ?? '');
    let tasks = byCaller.get(caller);
    if (tasks === undefined) {
      tasks = new Map();
      byCaller.set(caller, tasks);
    }
    return tasks;
  };
  return {
    async save(task, context) {
      const tasks = tasksOf(context);
      tasks.delete(task.id); // re-inserted last: Map order is the eviction order
      tasks.set(task.id, structuredClone(task));
      if (tasks.size > perCaller) tasks.delete(tasks.keys().next().value!);
    },
    async load(id, context) {
      const task = tasksOf(context).get(id);
      return task === undefined ? undefined : structuredClone(task);
    },
    async list(params: ListTasksRequest, context): Promise<ListTasksResponse> {
      const after =
        params.statusTimestampAfter === undefined ? undefined : Date.parse(params.statusTimestampAfter);
      const matching = [...tasksOf(context).values()]
        .filter((t) => !params.contextId || t.contextId === params.contextId)
        .filter((t) => !params.status || t.status?.state === params.status)
        .filter((t) => after === undefined || Date.parse(t.status?.timestamp ?? '') > after)
        .reverse(); // most recently written first
      const offset = Number.parseInt(params.pageToken || '0', 10) || 0;
      const pageSize = params.pageSize || DEFAULT_PAGE;
      // History length is the SDK's to apply; artifacts are left out unless asked for.
      const page = matching.slice(offset, offset + pageSize).map((task) => {
        const copy = structuredClone(task);
        if (params.includeArtifacts !== true) copy.artifacts = [];
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
