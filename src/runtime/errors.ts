import { type MeshwardenError, makeError } from '../envelope/index.js';
import type { Policy } from '../policy/index.js';

export const runtimeError = makeError({
  MW_RUNTIME_MODULE_LOAD: 'could not load {what} module {file}: {cause}',
  MW_RUNTIME_MODULE_SHAPE: '{what} module {file} must default-export {expected}',
  MW_RUNTIME_TRANSPORT: '{who} uses {transport}, and no transport for it was given to the runtime',
  MW_RUNTIME_HANDLER: 'agent {agent} failed on message {msgId}: {cause}',
  MW_RUNTIME_EXECUTOR: 'effect {effect} failed on request {msgId}: {cause}',
  MW_RUNTIME_NO_EXECUTOR: 'effect {effect} has no executor module, so request {msgId} cannot run',
  MW_RUNTIME_DEFINE: '{what} needs an object with a {method} function',
  MW_RUNTIME_UNKNOWN_CONSUMER:
    'message {msgId} was admitted for agent {agent}, which the current policy no longer has',
  MW_RUNTIME_LATE_EMIT:
    'agent {agent} emitted {type} after its handler for message {msgId} had returned; handlers must emit before they return',
  MW_RUNTIME_PARTITIONS_CHANGED:
    'the ledger was written with partitions: {recorded}, and the policy asks for partitions: {partitions}; a mesh keeps its partition count for its life (a new count needs {fresh})',
  MW_RUNTIME_REPLY_TOKEN:
    'effect {effect} gave reply token {token}, which is not 6 to 200 characters without white space',
  MW_RUNTIME_TIMEOUT: '{what} did not finish within {ms} ms',
  MW_RUNTIME_CLOSED: 'the mesh is closed',
  MW_RUNTIME_SNAPSHOT:
    'the snapshot of partition {partition} at entry {seq} was not used, and the chain is folded without it: {reason}',
  MW_RUNTIME_ID_READ:
    'could not read the ledger to check whether id {id} names another message, so that message was not admitted: {cause}',
  MW_RUNTIME_RELOAD: 'the policy cannot be reloaded: {detail}',
  MW_RUNTIME_DRIFT_TARGET:
    '"{text}" is not an agent: give a name such as optimizer, or name@version such as optimizer@2.1.0',
  MW_RUNTIME_DRIFT_UNKNOWN: 'the ledger has no {what} ({known})',
  MW_RUNTIME_REPLAY_MESH:
    'the candidate policy is for mesh {candidate}, and the ledger was written by mesh {recorded}; replay a candidate of the same mesh',
  MW_RUNTIME_REPLAY_ABORTED: 'the replay was stopped after {done} of {total} entries',
  MW_RUNTIME_BUS_CLOSED: 'the bus is closed: it takes no more items or subscribers',
  MW_RUNTIME_BUS_PARTITION: 'partition {partition} is not a partition number (a whole number from 0)',
  MW_RUNTIME_BUS_SUBSCRIBED: 'partition {partition} already has a subscriber; a partition has one',
  MW_RUNTIME_BUS_HANDLER: 'the handler of partition {partition} failed on a batch of {count} items: {cause}',
  MW_RUNTIME_BUS_NOT_DURABLE:
    'a batch of {count} items of partition {partition} did not become durable (a bus that can redeliver hands it back): {cause}',
  MW_RUNTIME_BUS_UNHANDLED:
    '{count} items of partition {partition} were never handled: no one subscribed to it before the bus closed',
  MW_RUNTIME_BUS_PARTITION_RANGE:
    'partition {partition} is out of range: the mesh has {partitions} partitions, numbered from 0',
  MW_RUNTIME_BUS_OPTIONS: 'the JetStream bus options are not usable: {detail}',
  MW_RUNTIME_BUS_CONNECT: 'could not connect to NATS at {servers}: {cause}',
  MW_RUNTIME_BUS_STREAM: 'could not create or open the JetStream stream {stream}: {cause}',
  MW_RUNTIME_BUS_CONNECTION: 'the bus lost its NATS connection, so it stopped: {cause}',
  MW_RUNTIME_BUS_PUBLISH: 'JetStream did not accept an item for partition {partition}: {cause}',
  MW_RUNTIME_BUS_LOCAL_DROPPED:
    '{count} items for partition {partition} that never left this process were not handled before the bus stopped; the work that made them resumes when the partitions where it was caused are recovered by their next owners',
  MW_RUNTIME_BUS_ENCODE:
    'an item for partition {partition} is not plain JSON, so it was not published: {cause}',
  MW_RUNTIME_BUS_CONSUMER:
    'the consumer of partition {partition} stopped or could not start, so its items wait in the stream: {cause}',
  MW_RUNTIME_BUS_DECODE:
    'the message at stream sequence {seq} of partition {partition} is not JSON, or not the items its header says; it was dropped (terminated): {cause}',
  MW_RUNTIME_BUS_WIRE:
    'the stream {stream} of mesh {mesh} records wire {wire}, and this node reads only up to wire {known}: a newer Meshwarden made it; run that version here, or give this mesh another name',
  MW_RUNTIME_LEASE_OPTIONS: 'the partition lease options are not usable: {detail}',
  MW_RUNTIME_LEASE_CONNECT: 'could not connect to NATS at {servers} for partition leases: {cause}',
  MW_RUNTIME_LEASE_BUCKET: 'could not create or open the lease bucket {bucket}: {cause}',
  MW_RUNTIME_LEASE_TIME:
    'the lease bucket {bucket} holds leases for {recorded} ms, and this node asks for {leaseMs} ms; every node of a mesh must use one lease time',
  MW_RUNTIME_LEASE_NODE:
    'node {node} is already live in mesh {mesh} (its membership did not lapse within {ms} ms); two processes must not share a node id',
  MW_RUNTIME_LEASE_RENEW: 'could not renew {what}: {cause}',
  MW_RUNTIME_LEASE_RELEASE:
    'could not release the lease of partition {partition}, so its next owner waits until it runs out ({ms} ms at most): {cause}',
  MW_RUNTIME_LEASE_CALLBACK: 'the {callback} callback failed for partition {partition}: {cause}',
  MW_RUNTIME_LEASE_MEMBER_CALLBACK: 'the onMemberGone callback failed for node {node}: {cause}',
  MW_RUNTIME_LEASE_CONNECTION:
    'the partition leases lost their NATS connection for good, so every lease was given up: {cause}',
  MW_RUNTIME_PARTITION_ELSEWHERE:
    '{what} is decided on the node that owns {where}, not on this one; ask that node (its console or API), or ask again once ownership settles',
  MW_RUNTIME_NOT_CLUSTERED: 'distributed mode needs {what}',
  MW_RUNTIME_ALERT_SINK:
    'alert route {route} sends to sink {sink}, which this process was not started with (a reload added or changed it); restart the warden so it reads the sink and its secrets',
  MW_RUNTIME_ALERT_SINK_THREW:
    'alert sink {sink} threw instead of returning its outcome (the warden log has the error); a sink must never throw',
  MW_RUNTIME_CLUSTER_MISMATCH:
    "mesh {mesh} on this NATS was set up with {recorded} (its stream keeps that, whether or not a node runs now), and this node has {identity}: every node of a mesh must use the same partition count and ledger (another count or ledger is another mesh: give it another mesh name, or remove the old mesh's stream and lease bucket as docs/distributed.md says)",
  MW_RUNTIME_MESH_UNKNOWN:
    'NATS at {servers} holds no mesh {mesh} (no stream {stream}, no lease bucket): check the mesh name, as its file says it (mesh:), and the NATS URL',
  MW_RUNTIME_MESH_LIVE:
    'mesh {mesh} still has live nodes ({nodes}): stop them first (SIGTERM), then remove it (a node killed outright counts as live for a lease, 5 s)',
  MW_RUNTIME_MESH_BACKLOG:
    'mesh {mesh} still has work not yet done in its stream {stream} ({messages} message(s), each of one or more items): start a node to finish it, or remove the mesh with --force to discard it',
  MW_RUNTIME_MESH_REMOVE: 'could not remove mesh {mesh} from NATS: {cause}',
  MW_RUNTIME_REMOTE: 'another node of the mesh failed on this (its log has more): {cause}',
  MW_RUNTIME_CONTROL:
    'the cluster could not be asked {what} over NATS ({cause}); ask again once the node or the broker is back',
  MW_PILOT_NOT_HELD: 'message {msgId} is not held: it was never held, or it was already released',
  MW_PILOT_ALREADY_FROZEN: '{subject} is already frozen by a pilot',
  MW_PILOT_NOT_FROZEN: '{subject} is not frozen',
  MW_PILOT_NO_BREAKER: 'breaker {id} is not open for {key}',
  MW_PILOT_BAD_TEXT: 'the {what} holds a lone surrogate (broken Unicode), which the ledger cannot record',
});

/**
 * A policy asks for another partition count than the ledger was written with: pointing at
 * `partitions`, or at the top of the file when the key is gone (the default, 1). A fresh ledger is
 * a new data directory, or a new schema for one in PostgreSQL.
 */
export function partitionsChanged(
  policy: Policy,
  recorded: number,
  engine: 'sqlite' | 'postgres' = 'sqlite',
): MeshwardenError {
  const fresh =
    engine === 'postgres'
      ? 'a new schema, and for a distributed mesh a new mesh name too: its NATS stream keeps the count'
      : 'a new data directory';
  return runtimeError(
    'MW_RUNTIME_PARTITIONS_CHANGED',
    { recorded, partitions: policy.partitions, fresh },
    {
      location: {
        file: policy.file,
        pointer: '/partitions',
        ...(policy.partitionsAt ?? { line: 1, col: 1 }),
      },
    },
  );
}
