// PostGraphile peer of bench/nested_sessions.py: one Node process serving POST /graphql
// on the benchmark's database, as a user of PostGraphile would run it.
//
//   DATABASE_URL=postgres://role:password@127.0.0.1:5432/db SECRET_KEY=… PORT=8767 \
//   NODE_OPTIONS=--require=./with-resolvers.cjs node postgraphile.mjs
//
// Requests carry the same Bearer token as Trainhub's: it is verified here (HS256, same
// secret), an invalid one is refused, but no user row is read and nothing is scoped by
// it (the bench database holds one organisation; the query filters on it explicitly).
import { createServer } from "node:http";

import jwt from "jsonwebtoken";
import { postgraphile } from "postgraphile";
import { makePgService } from "postgraphile/adaptors/pg";
import { grafserv } from "postgraphile/grafserv/node";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";

const secret = process.env.SECRET_KEY;

const preset = {
  // Order by any column (by default only indexed ones), as the query needs.
  disablePlugins: ["PgIndexBehaviorsPlugin"],
  extends: [PostGraphileAmberPreset],
  pgServices: [makePgService({ connectionString: process.env.DATABASE_URL, schemas: ["public"] })],
  grafserv: { port: Number(process.env.PORT), graphiql: false, watch: false },
  grafast: {
    explain: false,
    context(requestContext) {
      const header = requestContext.node?.req.headers.authorization ?? "";
      // Throws for a missing or invalid token: the request is answered with an error.
      const claims = jwt.verify(header.replace(/^Bearer /, ""), secret, { algorithms: ["HS256"] });
      return { jwtClaims: claims };
    },
  },
};

const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
const server = createServer();
server.on("error", (error) => {
  console.error(error);
  process.exit(1);
});
serv.addTo(server).then(() => server.listen(Number(process.env.PORT), "127.0.0.1"));
