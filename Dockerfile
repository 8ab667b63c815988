# The gateway and the demo backend share this image (docker-compose.yml picks the command).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json tsconfig.web.json ./
COPY src ./src
COPY web ./web
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
# Memory: the in-process caches are bounded (about 60 MB with every one full: 100 000 tracked
# addresses, 100 000 session copies and 100 000 limit keys counted through a Redis outage, about
# 90 MB of live heap in all); a heap cap and a smaller young generation keep V8 from holding
# garbage it has not collected yet (RSS 188 MB at most with every cache full; bench/RESULTS.md).
# Raise the cap with the cache sizes.
ENV NODE_ENV=production NODE_OPTIONS="--max-old-space-size=112 --max-semi-space-size=8"
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The default abuse rules, found from dist/login-guards.js as ../rules/default-rules.yaml.
COPY rules ./rules
# The console and the demo page: HTML, CSS and the JavaScript compiled beside its TypeScript.
COPY --from=build /app/web ./web
USER node
EXPOSE 8080
CMD ["node", "dist/server.js"]
