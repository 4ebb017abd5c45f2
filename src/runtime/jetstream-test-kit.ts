// Shared by the JetStream bus tests (jetstream-bus, -local, -handover and -pack .test.ts): each test
// gets a mesh, so a stream, of its own, deleted once the test is over, so tests share no state. They run
// against the NATS server at 127.0.0.1:4222 with JetStream (`.ci/run` starts it when it is not running).
import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, onTestFinished } from 'vitest';
import { isMeshwardenError } from '../envelope/index.js';
import type { Bus, BusValue } from './bus.js';
import { type JetStreamBusOptions, openJetStreamBus } from './jetstream-bus.js';
import { streamNameOf } from './jetstream-names.js';

export const SERVERS = process.env.MW_TEST_NATS ?? 'nats://127.0.0.1:4222';

/** A connection of the test file's own, for looking at streams and consumers; open while its tests run. */
export function natsAdmin(): { readonly connection: () => NatsConnection } {
  let admin: NatsConnection | undefined;
  beforeAll(async () => {
    admin = await connect({ servers: SERVERS });
  });
  afterAll(async () => {
    await admin?.close();
  });
  return {
    connection: () => {
      if (admin === undefined) throw new Error('natsAdmin() is used only while its tests run');
      return admin;
    },
  };
}

/** A mesh name of this test's own; its stream is deleted once the test is over. */
export function freshMesh(admin: NatsConnection): string {
  const mesh = `test-${randomUUID().slice(0, 8)}`;
  onTestFinished(async () => {
    const jsm = await jetstreamManager(admin);
    await jsm.streams.delete(streamNameOf(mesh)).catch(() => {});
  });
  return mesh;
}

export type Options = Omit<JetStreamBusOptions<BusValue>, 'mesh' | 'partitions'> &
  Partial<Pick<JetStreamBusOptions<BusValue>, 'partitions'>>;

export function openBus(mesh: string, options: Options): Promise<Bus<BusValue>> {
  return openJetStreamBus<BusValue>({ servers: SERVERS, mesh, partitions: 8, ...options });
}

export type Reported = { code: string | undefined; partition: number; items: readonly BusValue[] };

export function collector() {
  const reported: Reported[] = [];
  const onError = (error: Error, failed: { partition: number; items: readonly BusValue[] }) =>
    reported.push({ code: isMeshwardenError(error) ? error.code : undefined, ...failed });
  return { reported, onError };
}

export function deferred<V = void>() {
  let resolve: (value: V) => void = () => {};
  const promise = new Promise<V>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

export const idOf = (item: BusValue) =>
  item !== null && typeof item === 'object' && 'id' in item && typeof item.id === 'string'
    ? item.id
    : undefined;

/** The `local` option that hands every item over in process when it can. */
export const everyItem = (): boolean => true;

/** How many messages ever went through the mesh's stream (its last sequence). */
export async function streamed(admin: NatsConnection, mesh: string): Promise<number> {
  const jsm = await jetstreamManager(admin);
  return (await jsm.streams.info(streamNameOf(mesh))).state.last_seq;
}

/** Items `{ n }` numbered from `from` up to (not including) `to`. */
export const numbered = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => ({ n: from + i }));
