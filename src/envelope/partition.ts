/**
 * The partition that owns a subject: a stable FNV-1a hash of the subject, modulo the partition count.
 * Embedded mode runs one partition, so every subject maps to 0 there.
 */
export function partitionOf(subject: string, partitions: number): number {
  if (partitions <= 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < subject.length; i++) {
    h ^= subject.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % partitions;
}
