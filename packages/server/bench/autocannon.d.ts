// autocannon ships no types; the bench declares the part it uses (see server.bench.ts).
declare module 'autocannon' {
  const autocannon: unknown;
  export default autocannon;
}
