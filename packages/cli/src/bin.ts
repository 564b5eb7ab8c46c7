console.log("ocidx")
