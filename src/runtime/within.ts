/**
 * Whether `work` settled (either way) within `ms`: a step that must not hold a shutdown or a
 * hand-off for good waits this long, then goes on. The work itself is not stopped.
 */
export async function within(ms: number, work: Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const settled = work.then(
    () => true,
    () => true,
  );
  const done = await Promise.race([settled, late]);
  clearTimeout(timer);
  return done;
}
