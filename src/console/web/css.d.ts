// esbuild bundles the style sheet the front end imports (into app.css).
declare module '*.css';
