/**
 * The demo organisation: people with names, emails, teams and time zones.
 * Part of the generator in src/demo/generate.ts (see there for the whole picture).
 */
import { HOUR, MIN, pickKey } from "./common.ts";
import { Rng } from "./random.ts";
import truth from "./truth.json" with { type: "json" };

// ───────────────────────────── people ─────────────────────────────

export const FIRST = [
  "Ana",
  "Ben",
  "Chloe",
  "Dev",
  "Elif",
  "Farid",
  "Grace",
  "Hiro",
  "Ines",
  "Jonas",
  "Kavya",
  "Liam",
  "Maya",
  "Nico",
  "Olu",
  "Priya",
  "Quinn",
  "Rosa",
];
export const LAST = [
  "Almeida",
  "Brandt",
  "Chen",
  "Dubois",
  "Eriksen",
  "Fischer",
  "Gupta",
  "Haddad",
  "Ito",
  "Jansen",
  "Kowalski",
  "Lopez",
  "Mensah",
  "Novak",
  "Okafor",
  "Patel",
  "Rossi",
  "Sato",
];

export interface Person {
  name: string;
  email: string;
  login: string;
  tz: string;
  offsetMs: number;
}

export function makePeople(seed: number): Person[] {
  const rng = Rng.derive(seed, "people");
  const people: Person[] = [];
  for (let i = 0; i < truth.commits.authors; i++) {
    const first = FIRST[i % FIRST.length];
    const last = LAST[(i * 7 + Math.floor(i / FIRST.length)) % LAST.length];
    const tz = pickKey(rng, truth.commits.author_timezones as Record<string, number>);
    const sign = tz[0] === "-" ? -1 : 1;
    const offsetMs = sign * (Number(tz.slice(1, 3)) * HOUR + Number(tz.slice(3, 5)) * MIN);
    people.push({
      name: `${first} ${last}`,
      email: `${first.toLowerCase()}.${last.toLowerCase()}@aoma.example`,
      login: `${first.toLowerCase()}${last[0].toLowerCase()}`,
      tz,
      offsetMs,
    });
  }
  return people;
}
