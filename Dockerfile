# syntax=docker/dockerfile:1
# The gateway's production image: `docker build -t fhir-subscription-gateway .`
# Three stages on one base: build compiles TypeScript to dist/; deps installs production
# dependencies only; the final stage holds those two, the config, the console's static files and the
# event schema, nothing else, runs as a numeric
# non-root user, and writes nothing outside /tmp (so a read-only root filesystem works).
# test/image/ performs these stages' steps outside a container and checks these invariants.

ARG NODE_IMAGE=node:24-trixie-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/ scripts/
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src/ src/
RUN npm run build

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/ scripts/
# The postinstall (scripts/uws-glibc-compat.mjs) finds trixie's glibc new enough and changes nothing;
# prepare finds no TypeScript in a production install and does not build. The npm cache stays in
# this stage; the final one copies node_modules alone.
RUN npm ci --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE}
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="fhir-subscription-gateway" \
      org.opencontainers.image.description="Topic-based FHIR Subscriptions over WebSockets for any unmodified FHIR server" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="docker.io/library/node:24-trixie-slim"
ENV NODE_ENV=production \
    PORT=8080 \
    HOST=0.0.0.0 \
    DEMO_UPSTREAM=false \
    TMPDIR=/tmp
WORKDIR /app
COPY --from=deps /app/node_modules/ node_modules/
COPY --from=build /app/dist/ dist/
COPY package.json ./
COPY config/ config/
COPY console/ console/
COPY schema/ schema/
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "dist/main.js"]
